import type { SeededFleet } from './seed.ts';

/** One read route as the load generator calls it: the paths it cycles through. */
export interface BenchRoute {
  name: string;
  paths: string[];
  /** How the paths vary, for the report. */
  varies: string;
}

const PAGE = 100;

/** Every read route of the API, with the seeded fleet's ids and pages to vary over. */
export function benchRoutes(fleet: SeededFleet, forecastVms: number): BenchRoute[] {
  const pages = (total: number, max: number) => Array.from({ length: Math.max(1, Math.min(max, Math.ceil(total / PAGE))) }, (_, i) => i * PAGE);
  // Spread over the whole fleet, not its first hosts: ids the size of the fleet apart.
  const stride = Math.max(1, Math.floor(fleet.vmIds.length / forecastVms));
  const forecastIds = Array.from({ length: Math.min(forecastVms, fleet.vmIds.length) }, (_, i) => fleet.vmIds[(i * stride) % fleet.vmIds.length]!);
  return [
    { name: '/healthz', paths: ['/healthz'], varies: '—' },
    { name: '/v1/recommendations', paths: ['/v1/recommendations'], varies: `the latest plan (${fleet.latestPlanActions} actions, with dry runs)` },
    { name: '/v1/recommendations?include=summary', paths: ['/v1/recommendations?include=summary'], varies: 'the latest plan without actions' },
    { name: '/v1/plans', paths: ['/v1/plans'], varies: 'first page (50 plans)' },
    { name: '/v1/plans/:id', paths: fleet.planIds.map((id) => `/v1/plans/${id}`), varies: `${fleet.planIds.length} plans` },
    {
      name: '/v1/plans/:id/rightsizing',
      paths: pages(fleet.vmIds.length, 1000).map((o) => `/v1/plans/${fleet.latestPlanId}/rightsizing?limit=${PAGE}&offset=${o}`),
      varies: `${PAGE}-recommendation pages of the latest plan`,
    },
    {
      name: '/v1/plans/:id/load-after',
      paths: pages(fleet.hostIds.length, 1000).map((o) => `/v1/plans/${fleet.latestPlanId}/load-after?limit=${PAGE}&offset=${o}`),
      varies: `${PAGE}-host pages of the latest plan's load after`,
    },
    { name: '/v1/hosts', paths: pages(fleet.hostIds.length, 1000).map((o) => `/v1/hosts?limit=${PAGE}&offset=${o}`), varies: `${PAGE}-host pages over ${fleet.hostIds.length} hosts` },
    { name: '/v1/vms', paths: pages(fleet.vmIds.length, 1000).map((o) => `/v1/vms?limit=${PAGE}&offset=${o}`), varies: `${PAGE}-VM pages over ${fleet.vmIds.length} VMs` },
    { name: '/v1/vms/:id/forecast', paths: forecastIds.map((id) => `/v1/vms/${id}/forecast`), varies: `${forecastIds.length} VMs across the fleet` },
    { name: '/v1/anomalies', paths: pages(fleet.anomalies, 10).map((o) => `/v1/anomalies?limit=${PAGE}&offset=${o}`), varies: `${PAGE}-event pages of the last 24 h` },
    { name: '/v1/savings', paths: ['/v1/savings'], varies: 'first page (100 plans)' },
  ];
}
