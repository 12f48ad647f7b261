import { quantile } from 'simple-statistics';
import { NovaError } from '../../core/index.ts';
import type { VmForecast } from '../../models/index.ts';
import type { InstanceCatalog } from './catalog.ts';
import { instanceLabel } from './catalog.ts';
import { cores, gib, GIB, HOURS_PER_MONTH, money, pct, rate } from './format.ts';
import { cheapestFit, currentChoice, instanceFits } from './select.ts';
import type { CloudConstraints, InstanceChoice, InstanceNeed, InstanceRef } from './types.ts';

/** How sizes are derived from usage: percentile plus headroom per resource, as cloud optimizers do. */
export interface RightsizingPolicy {
  /** Quantile (0..1] of CPU usage history the size must hold, before headroom. */
  cpuPercentile: number;
  /** Extra fraction on top of it (0.2 = +20 %). */
  cpuHeadroom: number;
  memPercentile: number;
  memHeadroom: number;
  minVcpus: number;
  /** Memory sizes are multiples of this (and at least one of it). */
  memStepBytes: number;
  /** Fewer history samples than this (and no forecast): no recommendation. */
  minSamples: number;
  /** A cloud VM whose current type fits is changed only when this much per month is saved. */
  minMonthlySavings: number;
  /**
   * Offers a cloud VM may move to when the VM gives none: absent, the VM stays with its provider
   * and region (and zone), since a resize should not silently move a VM between clouds.
   */
  constraints?: CloudConstraints;
}

/** p95 CPU + 20 %, p99 memory + 10 %, whole vCPUs, memory in 256 MiB steps, at least 24 samples. */
export const DEFAULT_RIGHTSIZING_POLICY: Readonly<RightsizingPolicy> = Object.freeze({
  cpuPercentile: 0.95,
  cpuHeadroom: 0.2,
  memPercentile: 0.99,
  memHeadroom: 0.1,
  minVcpus: 1,
  memStepBytes: 256 * 1024 ** 2,
  minSamples: 24,
  minMonthlySavings: 0,
});

/** A VM to rightsize: its current size, where it runs, and its usage (history and/or forecast). */
export interface RightsizingVm {
  vmId: string;
  vcpus: number;
  memBytes: number;
  location: { kind: 'on-prem'; hostId: string } | { kind: 'cloud'; instance: InstanceRef };
  /** CPU used per sample, in cores. */
  cpuCoresHistory?: readonly number[];
  /** Memory used per sample, in bytes. */
  memBytesHistory?: readonly number[];
  /** A quantile forecast: when given, its p95s replace the history percentiles (it carries no other quantile). */
  forecast?: Pick<VmForecast, 'p95CpuCores' | 'p95MemBytes' | 'method' | 'horizonMinutes'>;
  /** Overrides the policy's constraints for this VM. */
  constraints?: CloudConstraints;
}

/** A size in vCPUs and bytes of memory. */
export type VmSize = InstanceNeed;

/** Every action a rightsizing recommendation can have (the API's enum and filter come from here). */
export const RIGHTSIZING_ACTIONS = ['keep', 'downsize', 'upsize', 'switch', 'no-fit', 'insufficient-data'] as const;

/** What to do with one VM's size, and why, with the numbers. */
export interface RightsizingRecommendation {
  vmId: string;
  /** Where the VM runs (as given). */
  location: RightsizingVm['location'];
  action: (typeof RIGHTSIZING_ACTIONS)[number];
  basis: 'forecast' | 'history' | 'none';
  /** The usage the size must hold before headroom: pXX CPU in cores, pXX memory in bytes. */
  cpuDemandCores: number | null;
  memDemandBytes: number | null;
  current: VmSize;
  /** Demand plus headroom, rounded up to whole vCPUs and memory steps. */
  recommended: VmSize | null;
  /** Cloud VMs: the offer as billed now. */
  currentInstance?: InstanceChoice;
  /** Cloud VMs: the cheapest allowed offer holding the recommended size (null: none does). */
  recommendedInstance?: InstanceChoice | null;
  /** Cloud VMs: current minus recommended price over a 730-hour month (negative when it must grow). */
  monthlySavings: number | null;
  reason: string;
}

/** Rightsizes every VM (see rightsizeVm); same order as the input. A catalog is needed only for cloud VMs. */
export function recommendRightsizing(vms: readonly RightsizingVm[], catalog: InstanceCatalog | null, policy: RightsizingPolicy = DEFAULT_RIGHTSIZING_POLICY): RightsizingRecommendation[] {
  checkPolicy(policy);
  return vms.map((vm) => rightsize(vm, catalog, policy));
}

/** Recommends a size for one VM from its forecast p95 (or history percentiles) plus headroom, and for a cloud VM the cheapest allowed offer that holds it. */
export function rightsizeVm(vm: RightsizingVm, catalog: InstanceCatalog | null, policy: RightsizingPolicy = DEFAULT_RIGHTSIZING_POLICY): RightsizingRecommendation {
  checkPolicy(policy);
  return rightsize(vm, catalog, policy);
}

/** The q-quantile (0..1) with linear interpolation between order statistics (numpy's default, R type 7). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new NovaError('COST_INVALID_INPUT', 'percentile needs at least one value');
  return quantile(values, q);
}

/** Demand plus headroom, rounded up: whole vCPUs (at least minVcpus), memory in whole steps. */
export function sizeFor(cpuDemandCores: number, memDemandBytes: number, policy: RightsizingPolicy = DEFAULT_RIGHTSIZING_POLICY): VmSize {
  // The slack keeps 2.5 × 1.2 = 3.0000000000000004 at 3 vCPUs; it is far below the fit tolerance.
  const up = (x: number) => Math.ceil(x - Math.abs(x) * 1e-12);
  const vcpus = Math.max(policy.minVcpus, up(cpuDemandCores * (1 + policy.cpuHeadroom)));
  const memBytes = Math.max(1, up((memDemandBytes * (1 + policy.memHeadroom)) / policy.memStepBytes)) * policy.memStepBytes;
  return { vcpus, memBytes };
}

/** Throws COST_INVALID_INPUT naming the first policy field out of range. */
export function checkRightsizingPolicy(p: RightsizingPolicy): void {
  checkPolicy(p);
}

function checkPolicy(p: RightsizingPolicy): void {
  const bad = (field: string, value: unknown, want: string): never => {
    throw new NovaError('COST_INVALID_INPUT', `rightsizing policy field ${field} must be ${want}, got ${String(value)}`, { details: { field } });
  };
  if (!(p.cpuPercentile > 0 && p.cpuPercentile <= 1)) bad('cpuPercentile', p.cpuPercentile, 'in (0, 1]');
  if (!(p.memPercentile > 0 && p.memPercentile <= 1)) bad('memPercentile', p.memPercentile, 'in (0, 1]');
  if (!(p.cpuHeadroom >= 0 && Number.isFinite(p.cpuHeadroom))) bad('cpuHeadroom', p.cpuHeadroom, 'a fraction ≥ 0');
  if (!(p.memHeadroom >= 0 && Number.isFinite(p.memHeadroom))) bad('memHeadroom', p.memHeadroom, 'a fraction ≥ 0');
  if (!(p.minVcpus > 0 && Number.isFinite(p.minVcpus))) bad('minVcpus', p.minVcpus, '> 0');
  if (!(p.memStepBytes > 0 && Number.isFinite(p.memStepBytes))) bad('memStepBytes', p.memStepBytes, '> 0');
  if (!(p.minSamples >= 1)) bad('minSamples', p.minSamples, '≥ 1');
  if (!Number.isFinite(p.minMonthlySavings)) bad('minMonthlySavings', p.minMonthlySavings, 'a number');
}

const qLabel = (q: number) => `p${Number((q * 100).toFixed(2))}`;

interface Demand {
  basis: 'forecast' | 'history';
  cpu: number;
  mem: number;
  /** "p95 CPU 1.30 cores (forecast, ewma)": where each figure comes from. */
  cpuText: string;
  memText: string;
}

function demandOf(vm: RightsizingVm, policy: RightsizingPolicy): Demand | string {
  const badValue = (what: string, x: number): never => {
    throw new NovaError('COST_INVALID_INPUT', `VM ${vm.vmId}: ${what} must be finite and ≥ 0, got ${x}`, { details: { vmId: vm.vmId } });
  };
  if (vm.forecast) {
    const f = vm.forecast;
    if (!(f.p95CpuCores >= 0 && Number.isFinite(f.p95CpuCores))) badValue('forecast p95CpuCores', f.p95CpuCores);
    if (!(f.p95MemBytes >= 0 && Number.isFinite(f.p95MemBytes))) badValue('forecast p95MemBytes', f.p95MemBytes);
    const src = `forecast ${f.method}, next ${f.horizonMinutes} min`;
    return { basis: 'forecast', cpu: f.p95CpuCores, mem: f.p95MemBytes, cpuText: `p95 CPU ${cores(f.p95CpuCores)} cores (${src})`, memText: `p95 memory ${gib(f.p95MemBytes)} GiB (${src})` };
  }
  const cpuH = vm.cpuCoresHistory ?? [];
  const memH = vm.memBytesHistory ?? [];
  if (cpuH.length < policy.minSamples || memH.length < policy.minSamples) {
    return `${cpuH.length} CPU and ${memH.length} memory samples, fewer than the ${policy.minSamples} the policy needs, and no forecast`;
  }
  for (const x of cpuH) if (!(x >= 0 && Number.isFinite(x))) badValue('CPU history samples', x);
  for (const x of memH) if (!(x >= 0 && Number.isFinite(x))) badValue('memory history samples', x);
  const cpu = percentile(cpuH, policy.cpuPercentile);
  const mem = percentile(memH, policy.memPercentile);
  return {
    basis: 'history',
    cpu,
    mem,
    cpuText: `${qLabel(policy.cpuPercentile)} CPU ${cores(cpu)} cores over ${cpuH.length} samples`,
    memText: `${qLabel(policy.memPercentile)} memory ${gib(mem)} GiB over ${memH.length} samples`,
  };
}

function rightsize(vm: RightsizingVm, catalog: InstanceCatalog | null, policy: RightsizingPolicy): RightsizingRecommendation {
  if (!(vm.vcpus > 0 && vm.memBytes > 0)) throw new NovaError('COST_INVALID_INPUT', `VM ${vm.vmId}: vcpus and memBytes must be > 0, got ${vm.vcpus} and ${vm.memBytes}`, { details: { vmId: vm.vmId } });
  const current: VmSize = { vcpus: vm.vcpus, memBytes: vm.memBytes };
  const cloud = vm.location.kind === 'cloud' ? vm.location.instance : undefined;
  if (cloud && !catalog) throw new NovaError('COST_INVALID_INPUT', `cloud VM ${vm.vmId}: rightsizing a cloud VM needs the instance catalog its offer is priced in`, { details: { vmId: vm.vmId } });
  const currentInstance = cloud && catalog ? currentChoice(catalog, cloud) : undefined;
  const cur = catalog?.currency ?? '';
  const nowText = `now ${vm.vcpus} vCPUs / ${gib(vm.memBytes)} GiB${currentInstance ? ` on ${offerText(currentInstance, cur)}` : ''}`;
  const demand = demandOf(vm, policy);
  if (typeof demand === 'string') {
    return { vmId: vm.vmId, location: vm.location, action: 'insufficient-data', basis: 'none', cpuDemandCores: null, memDemandBytes: null, current, recommended: null, ...(currentInstance ? { currentInstance } : {}), monthlySavings: null, reason: `${vm.vmId}: ${demand}; ${nowText}; keep it until there is enough data` };
  }
  const size = sizeFor(demand.cpu, demand.mem, policy);
  const sizing =
    `${demand.cpuText} + ${pct(policy.cpuHeadroom)} headroom = ${cores(demand.cpu * (1 + policy.cpuHeadroom))} → ${size.vcpus} vCPUs; ` +
    `${demand.memText} + ${pct(policy.memHeadroom)} headroom = ${gib(demand.mem * (1 + policy.memHeadroom))} → ${gib(size.memBytes)} GiB`;
  const base = { vmId: vm.vmId, location: vm.location, basis: demand.basis, cpuDemandCores: demand.cpu, memDemandBytes: demand.mem, current, recommended: size };
  // The risk figure: how full the new size runs at the demand percentile (100 % = no headroom left).
  const risk = (vcpus: number, memBytes: number) =>
    `${demand.basis === 'forecast' ? 'p95' : qLabel(policy.cpuPercentile)} CPU would use ${pct(demand.cpu / vcpus)} of ${vcpus} vCPUs, ` +
    `${demand.basis === 'forecast' ? 'p95' : qLabel(policy.memPercentile)} memory ${pct(demand.mem / memBytes)} of ${gib(memBytes)} GiB`;

  if (!cloud || !currentInstance || !catalog) {
    const action = size.vcpus > vm.vcpus || size.memBytes > vm.memBytes ? 'upsize' : size.vcpus === vm.vcpus && size.memBytes === vm.memBytes ? 'keep' : 'downsize';
    const host = vm.location.kind === 'on-prem' ? vm.location.hostId : 'its host';
    const effect =
      action === 'keep'
        ? 'the size already matches'
        : action === 'downsize'
          ? `shrink to ${size.vcpus} vCPUs / ${gib(size.memBytes)} GiB, freeing ${vm.vcpus - size.vcpus} vCPUs and ${gib(vm.memBytes - size.memBytes)} GiB on ${host}; on-prem the money is saved when consolidation frees a host`
          : `grow to ${size.vcpus} vCPUs / ${gib(size.memBytes)} GiB: usage plus headroom exceeds the current size`;
    return { ...base, action, monthlySavings: null, reason: `${vm.vmId}: ${sizing}; ${nowText}; ${effect}; ${risk(size.vcpus, size.memBytes)}` };
  }

  const constraints = vm.constraints ?? policy.constraints ?? inPlace(cloud);
  const choice = cheapestFit(catalog, size, constraints);
  if (!choice) {
    return { ...base, action: 'no-fit', currentInstance, recommendedInstance: null, monthlySavings: null, reason: `${vm.vmId}: ${sizing}; ${nowText}; no allowed catalog offer holds ${size.vcpus} vCPUs / ${gib(size.memBytes)} GiB; keep it and widen the allowed providers/regions or the catalog` };
  }
  const monthlySavings = (currentInstance.pricePerHour - choice.pricePerHour) * HOURS_PER_MONTH;
  const currentFits = instanceFits(currentInstance.instance, size);
  const sameOffer = choice.instance === currentInstance.instance && choice.pricing === currentInstance.pricing;
  const prices = `now ${offerText(currentInstance, cur)} = ${money(currentInstance.pricePerHour * HOURS_PER_MONTH, cur)}/month; cheapest allowed that fits: ${offerText(choice, cur)} = ${money(choice.pricePerHour * HOURS_PER_MONTH, cur)}/month`;
  if (sameOffer || (currentFits && !(monthlySavings > policy.minMonthlySavings))) {
    const why = sameOffer ? 'the current offer is already the cheapest allowed one that fits' : `changing would save ${money(monthlySavings, cur)}/month, not more than the ${money(policy.minMonthlySavings, cur)} threshold`;
    return { ...base, action: 'keep', currentInstance, recommendedInstance: choice, monthlySavings: sameOffer ? 0 : monthlySavings, reason: `${vm.vmId}: ${sizing}; ${prices}; keep: ${why}; ${risk(currentInstance.instance.vcpus, currentInstance.instance.memoryGiB * GIB)}` };
  }
  const smaller = choice.instance.vcpus < currentInstance.instance.vcpus || choice.instance.memoryGiB < currentInstance.instance.memoryGiB;
  const action = !currentFits ? 'upsize' : smaller ? 'downsize' : 'switch';
  const verdict = !currentFits
    ? `the current offer is too small for ${size.vcpus} vCPUs / ${gib(size.memBytes)} GiB; ${monthlySavings >= 0 ? `saves ${money(monthlySavings, cur)}` : `costs ${money(-monthlySavings, cur)} more`} per month`
    : `saves ${money(monthlySavings, cur)}/month`;
  const spotRisk = choice.pricing === 'spot' ? '; spot capacity can be reclaimed at short notice' : '';
  return { ...base, action, currentInstance, recommendedInstance: choice, monthlySavings, reason: `${vm.vmId}: ${sizing}; ${prices}; ${action}: ${verdict}; ${risk(choice.instance.vcpus, choice.instance.memoryGiB * GIB)}${spotRisk}` };
}

// A resize keeps a cloud VM where it is: same provider and region, and its zone when it has one.
function inPlace(ref: InstanceRef): CloudConstraints {
  return { allowedProviders: [ref.provider], allowedRegions: [ref.region], ...(ref.zone !== undefined ? { allowedZones: [ref.zone] } : {}), spotAllowed: ref.pricing === 'spot' };
}

function offerText(c: InstanceChoice, currency: string): string {
  return `${instanceLabel(c.instance)} ${c.pricing} ${c.instance.vcpus} vCPUs / ${c.instance.memoryGiB} GiB at ${rate(c.pricePerHour, currency)}`;
}
