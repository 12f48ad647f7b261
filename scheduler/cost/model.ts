import { NovaError } from '../../core/index.ts';
import type { FleetSnapshot } from '../types.ts';
import type { InstanceCatalog } from './catalog.ts';
import { compareIds, HOURS_PER_MONTH } from './format.ts';
import { currentChoice } from './select.ts';
import type { CloudVm, InstanceChoice, InstanceRef } from './types.ts';

/** Hours in a (365-day) year, to write a lifetime in years as hours. */
export const HOURS_PER_YEAR = 8760;

/** One measured point of a load curve: watts drawn at a CPU utilisation in [0, 1]. */
export interface LoadPoint {
  utilization: number;
  watts: number;
}

/**
 * Watts drawn by a host as a function of its CPU utilisation: a line from idle to max, or
 * SPECpower-style measured points (first at 0, last at 1) joined by straight lines.
 */
export type LoadCurve = { kind: 'linear'; idleWatts: number; maxWatts: number } | { kind: 'points'; points: readonly LoadPoint[] };

/** What one on-prem host costs: its purchase written off over its lifetime, and its power. */
export interface HostCostProfile {
  /** Paid once (server, racking, support bought with it), in the catalog's currency. */
  purchasePrice: number;
  /** Hours the purchase is written off over (5 years = 5 × HOURS_PER_YEAR). */
  lifetimeHours: number;
  power: LoadCurve;
  /** Energy price per kWh, in the catalog's currency. */
  pricePerKWh: number;
  /** Power usage effectiveness: facility watts per IT watt (cooling, distribution losses). Default 1. */
  pue?: number;
}

/** Cost profiles of the on-prem hosts: per host id, else the default. */
export interface HostProfiles {
  default?: HostCostProfile;
  byHost?: Readonly<Record<string, HostCostProfile>>;
}

/** One host's hourly cost at a utilisation, split into amortisation and power. */
export interface HostCostBreakdown {
  utilization: number;
  poweredOn: boolean;
  watts: number;
  amortizationPerHour: number;
  powerPerHour: number;
  totalPerHour: number;
}

const invalid = (message: string): never => {
  throw new NovaError('COST_MODEL_INVALID', message);
};

/** Watts at a CPU utilisation, by linear interpolation on the curve; utilisation above 1 counts as 1. */
export function powerWatts(curve: LoadCurve, utilization: number): number {
  checkCurve(curve);
  if (!(utilization >= 0)) invalid(`utilisation must be a number ≥ 0, got ${utilization}`);
  // Forecast demand beyond a host's cores is queued work, not extra watts: the host saturates.
  const u = Math.min(utilization, 1);
  if (curve.kind === 'linear') return curve.idleWatts + (curve.maxWatts - curve.idleWatts) * u;
  const pts = curve.points;
  let i = 1;
  while (i < pts.length - 1 && pts[i]!.utilization < u) i++;
  const a = pts[i - 1]!;
  const b = pts[i]!;
  if (u === b.utilization) return b.watts; // measured points come back exactly, not re-derived
  return a.watts + ((b.watts - a.watts) * (u - a.utilization)) / (b.utilization - a.utilization);
}

function checkCurve(curve: LoadCurve): void {
  const ok = (w: number) => Number.isFinite(w) && w >= 0;
  if (curve.kind === 'linear') {
    if (!ok(curve.idleWatts) || !ok(curve.maxWatts)) invalid(`linear load curve needs finite idleWatts and maxWatts ≥ 0, got ${curve.idleWatts} and ${curve.maxWatts}`);
    return;
  }
  const pts = curve.points;
  if (pts.length < 2 || pts[0]!.utilization !== 0 || pts[pts.length - 1]!.utilization !== 1) {
    invalid('a load curve of points needs at least two points, the first at utilization 0 and the last at 1 (e.g. SPECpower 0 %, 10 %, …, 100 %)');
  }
  pts.forEach((p, i) => {
    if (!ok(p.watts)) invalid(`load curve point ${i} has invalid watts ${p.watts}`);
    if (i > 0 && !(p.utilization > pts[i - 1]!.utilization)) invalid(`load curve utilizations must increase strictly; point ${i} (${p.utilization}) does not`);
  });
}

/** Purchase price spread over the lifetime, per hour: paid whether the host runs or not. */
export function amortizationPerHour(profile: HostCostProfile): number {
  if (!(Number.isFinite(profile.purchasePrice) && profile.purchasePrice >= 0)) invalid(`purchasePrice must be ≥ 0, got ${profile.purchasePrice}`);
  if (!(Number.isFinite(profile.lifetimeHours) && profile.lifetimeHours > 0)) invalid(`lifetimeHours must be > 0, got ${profile.lifetimeHours}`);
  return profile.purchasePrice / profile.lifetimeHours;
}

/** Energy cost per hour of a host at a utilisation (zero when powered off): watts × PUE / 1000 × price per kWh. */
export function powerCostPerHour(profile: HostCostProfile, utilization: number, poweredOn = true): { watts: number; perHour: number } {
  const pue = profile.pue ?? 1;
  if (!(Number.isFinite(pue) && pue >= 1)) invalid(`pue must be ≥ 1, got ${pue}`);
  if (!(Number.isFinite(profile.pricePerKWh) && profile.pricePerKWh >= 0)) invalid(`pricePerKWh must be ≥ 0, got ${profile.pricePerKWh}`);
  const watts = poweredOn ? powerWatts(profile.power, utilization) : 0;
  return { watts, perHour: ((watts * pue) / 1000) * profile.pricePerKWh };
}

/** Hourly cost of one host at a utilisation: amortisation plus power. */
export function hostCostPerHour(profile: HostCostProfile, utilization: number, poweredOn = true): HostCostBreakdown {
  const amortization = amortizationPerHour(profile);
  const power = powerCostPerHour(profile, utilization, poweredOn);
  return { utilization, poweredOn, watts: power.watts, amortizationPerHour: amortization, powerPerHour: power.perHour, totalPerHour: amortization + power.perHour };
}

/** Hourly price of a cloud VM's instance as it is billed (on-demand or spot). */
export function cloudCostPerHour(catalog: InstanceCatalog, ref: InstanceRef): number {
  return currentChoice(catalog, ref).pricePerHour;
}

/** The profile of a host: its own, else the default; COST_HOST_PROFILE_MISSING when neither exists. */
export function profileFor(profiles: HostProfiles, hostId: string): HostCostProfile {
  const p = profiles.byHost?.[hostId] ?? profiles.default;
  if (!p) throw new NovaError('COST_HOST_PROFILE_MISSING', `no cost profile for host ${hostId}; give it one in byHost or set a default profile`, { details: { hostId } });
  return p;
}

/** What to price: the on-prem snapshot, the cloud VMs, and the prices of both. */
export interface FleetPricingInput {
  snapshot: FleetSnapshot;
  cloudVms?: readonly CloudVm[];
  hostProfiles: HostProfiles;
  catalog: InstanceCatalog;
  /**
   * Whether hosts without VMs draw idle power. Default false: consolidation powers empty hosts
   * off, and their amortisation is counted either way.
   */
  emptyHostsPoweredOn?: boolean;
}

/** One host's cost over the horizon. */
export interface HostCostLine extends HostCostBreakdown {
  hostId: string;
  vmCount: number;
  amortization: number;
  energy: number;
  total: number;
}

/** One cloud VM's cost over the horizon. */
export interface CloudCostLine {
  vmId: string;
  choice: InstanceChoice;
  total: number;
}

/** A fleet's cost over a horizon, on-prem and cloud, in the catalog's currency. */
export interface FleetCost {
  horizonHours: number;
  currency: string;
  hosts: HostCostLine[];
  cloud: CloudCostLine[];
  onPremTotal: number;
  cloudTotal: number;
  total: number;
  /** The same run rate over a 730-hour month. */
  perMonth: number;
}

/**
 * Prices a fleet for a horizon. Host utilisation is the sum of its VMs' predicted p95 CPU over its
 * cores, so energy is an upper estimate (p95, not mean, held for the whole horizon). Deterministic:
 * lines and sums are in id order.
 */
export function priceFleet(input: FleetPricingInput, horizonHours: number): FleetCost {
  if (!(Number.isFinite(horizonHours) && horizonHours > 0)) throw new NovaError('COST_INVALID_INPUT', `horizonHours must be > 0, got ${horizonHours}`);
  const load = new Map<string, { cpu: number; count: number }>();
  for (const h of input.snapshot.hosts) load.set(h.hostId, { cpu: 0, count: 0 });
  for (const v of [...input.snapshot.vms].sort((a, b) => compareIds(a.vmId, b.vmId))) {
    const l = load.get(v.hostId);
    if (!l) throw new NovaError('COST_INVALID_INPUT', `VM ${v.vmId} runs on host ${v.hostId}, which the snapshot does not list`);
    l.cpu += v.cpuCores;
    l.count += 1;
  }
  const hosts = [...input.snapshot.hosts]
    .sort((a, b) => compareIds(a.hostId, b.hostId))
    .map((h): HostCostLine => {
      const l = load.get(h.hostId)!;
      const utilization = h.cpuCores > 0 ? l.cpu / h.cpuCores : 0;
      const b = hostCostPerHour(profileFor(input.hostProfiles, h.hostId), utilization, l.count > 0 || input.emptyHostsPoweredOn === true);
      const amortization = b.amortizationPerHour * horizonHours;
      const energy = b.powerPerHour * horizonHours;
      return { hostId: h.hostId, vmCount: l.count, ...b, amortization, energy, total: amortization + energy };
    });
  const cloud = [...(input.cloudVms ?? [])]
    .sort((a, b) => compareIds(a.vmId, b.vmId))
    .map((v): CloudCostLine => {
      const choice = currentChoice(input.catalog, v.instance);
      return { vmId: v.vmId, choice, total: choice.pricePerHour * horizonHours };
    });
  const onPremTotal = hosts.reduce((s, h) => s + h.total, 0);
  const cloudTotal = cloud.reduce((s, c) => s + c.total, 0);
  const total = onPremTotal + cloudTotal;
  return { horizonHours, currency: input.catalog.currency, hosts, cloud, onPremTotal, cloudTotal, total, perMonth: (total / horizonHours) * HOURS_PER_MONTH };
}
