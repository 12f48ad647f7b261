import { NovaError } from '../../core/index.ts';
import { planConsolidation } from '../ffd.ts';
import { PlacementState } from '../placement.ts';
import { DEFAULT_POLICY, type ConsolidationPolicy, type FleetSnapshot, type VmDemand } from '../types.ts';
import type { InstanceCatalog } from './catalog.ts';
import { instanceLabel } from './catalog.ts';
import { compareIds, cores, gib, HOURS_PER_MONTH, money, pct, rate, withinTolerance } from './format.ts';
import { powerCostPerHour, profileFor, type HostProfiles } from './model.ts';
import { cheapestFit, currentChoice, narrowConstraints } from './select.ts';
import type { CloudConstraints, CloudVm, InstanceChoice, InstanceNeed } from './types.ts';

/** The consolidation targets that define on-prem capacity, the horizon, and what cloud offers may be used. */
export interface BurstPolicy extends ConsolidationPolicy {
  /** How long the forecast demand holds: what a burst is priced for. */
  horizonHours: number;
  /** Offers any bursting VM may use; a VM's own constraints narrow them. */
  constraints: CloudConstraints;
  /** A cloud VM comes back only when that saves more than this per month. */
  minMonthlySavings: number;
}

/** The scheduler's default targets (80 % CPU, 100 % memory), a 24 h horizon, any on-demand offer. */
export const DEFAULT_BURST_POLICY: Readonly<BurstPolicy> = Object.freeze({ ...DEFAULT_POLICY, horizonHours: 24, constraints: Object.freeze({}), minMonthlySavings: 0 });

/** An on-prem VM allowed to run in the cloud, and the size its instance must have. */
export interface BurstProfile {
  vcpus: number;
  /** Default: the memory the snapshot reserves for it. */
  memBytes?: number;
  constraints?: CloudConstraints;
}

/** On-prem forecast demand against capacity under the targets. */
export interface OnPremLoad {
  cpuDemand: number;
  cpuTarget: number;
  memDemand: number;
  memTarget: number;
}

/** The fleet, and which of its VMs may burst (opt-in: data and licences may tie a VM to its site). */
export interface BurstOutInput {
  snapshot: FleetSnapshot;
  burstable: Readonly<Record<string, BurstProfile>>;
  catalog: InstanceCatalog;
}

/** Run one on-prem VM in the cloud for the horizon. */
export interface BurstOutSuggestion {
  kind: 'burst-out';
  vmId: string;
  fromHost: string;
  cpuCores: number;
  memBytes: number;
  choice: InstanceChoice;
  horizonCost: number;
  monthlyCost: number;
  reason: string;
}

/** Which VMs to burst so on-prem holds the rest under its targets, and what that costs. */
export interface BurstOutPlan {
  horizonHours: number;
  currency: string;
  before: OnPremLoad;
  after: OnPremLoad;
  suggestions: BurstOutSuggestion[];
  horizonCost: number;
  monthlyCost: number;
  /** VMs that still fit no host after every burstable VM that could help is sent out. */
  stillUnplaced: string[];
  reason: string;
}

interface Candidate {
  vm: VmDemand;
  need: InstanceNeed;
  choice: InstanceChoice;
}

type Why = 'excess' | 'no-host' | 'repack';

/**
 * Burst-out: when the consolidation planner cannot fit the forecast demand under the targets,
 * sends burstable VMs to their cheapest fitting cloud offers until it can. While demand exceeds
 * capacity in total, VMs go by price per share of the excess they remove; after that, VMs that
 * fit no host, then the cheapest. Returns no suggestion when on-prem suffices. Deterministic.
 */
export function suggestBurstOut(input: BurstOutInput, policy: BurstPolicy = DEFAULT_BURST_POLICY): BurstOutPlan {
  checkPolicy(policy);
  const { snapshot, catalog } = input;
  const cur = catalog.currency;
  const h = policy.horizonHours;
  const vms = [...snapshot.vms].sort((a, b) => compareIds(a.vmId, b.vmId));
  const candidates: Candidate[] = [];
  const noOffer: string[] = [];
  for (const vm of vms) {
    const profile = input.burstable[vm.vmId];
    if (!profile) continue;
    const need = { vcpus: profile.vcpus, memBytes: profile.memBytes ?? vm.memBytes };
    if (!(need.vcpus > 0 && need.memBytes > 0)) throw new NovaError('COST_INVALID_INPUT', `burstable VM ${vm.vmId}: vcpus and memBytes must be > 0, got ${need.vcpus} and ${need.memBytes}`, { details: { vmId: vm.vmId } });
    const choice = cheapestFit(catalog, need, narrowConstraints(policy.constraints, profile.constraints ?? {}));
    if (choice) candidates.push({ vm, need, choice });
    else noOffer.push(vm.vmId);
  }

  const before = loadOf(snapshot, vms, policy);
  const selected = new Map<string, { c: Candidate; why: Why; excess?: string }>();
  let stillUnplaced: string[] = [];
  for (;;) {
    const remaining = vms.filter((v) => !selected.has(v.vmId));
    const unplaced = planConsolidation({ ...snapshot, vms: remaining }, policy).unplaced;
    if (unplaced.length === 0) break;
    const pool = candidates.filter((c) => !selected.has(c.vm.vmId));
    const load = loadOf(snapshot, remaining, policy);
    let took = 0;
    if (!fitsTotal(load)) {
      const exCpu = load.cpuDemand - load.cpuTarget;
      const exMem = load.memDemand - load.memTarget;
      const relief = (c: Candidate) => Math.max(exCpu > 0 ? Math.min(c.vm.cpuCores, exCpu) / exCpu : 0, exMem > 0 ? Math.min(c.vm.memBytes, exMem) / exMem : 0);
      const ranked = pool
        .map((c) => ({ c, key: c.choice.pricePerHour / relief(c) }))
        .filter((r) => Number.isFinite(r.key))
        .sort((a, b) => a.key - b.key || compareIds(a.c.vm.vmId, b.c.vm.vmId));
      const left = { ...load };
      const excess = [exCpu > 0 ? `${cores(exCpu)} cores` : '', exMem > 0 ? `${gib(exMem)} GiB` : ''].filter(Boolean).join(' and ');
      for (const { c } of ranked) {
        if (fitsTotal(left)) break;
        selected.set(c.vm.vmId, { c, why: 'excess', excess });
        left.cpuDemand -= c.vm.cpuCores;
        left.memDemand -= c.vm.memBytes;
        took++;
      }
    }
    if (took === 0) {
      // The total fits (or nothing more helps it): what blocks the packing is where VMs fit.
      const stuck = new Set(unplaced);
      const byPrice = (a: Candidate, b: Candidate) => a.choice.pricePerHour - b.choice.pricePerHour || compareIds(a.vm.vmId, b.vm.vmId);
      const homeless = pool.filter((c) => stuck.has(c.vm.vmId)).sort(byPrice);
      for (const c of homeless) selected.set(c.vm.vmId, { c, why: 'no-host' });
      took = homeless.length;
      const first = took === 0 ? [...pool].sort(byPrice)[0] : undefined;
      if (first) {
        selected.set(first.vm.vmId, { c: first, why: 'repack' });
        took = 1;
      }
    }
    if (took === 0) {
      stillUnplaced = [...unplaced].sort(compareIds);
      break;
    }
  }

  const after = loadOf(snapshot, vms.filter((v) => !selected.has(v.vmId)), policy);
  const state = `on-prem forecast demand ${loadText(before)} over the next ${h} h`;
  const suggestions = [...selected.values()]
    .sort((a, b) => compareIds(a.c.vm.vmId, b.c.vm.vmId))
    .map(({ c, why, excess }): BurstOutSuggestion => {
      const because =
        why === 'excess'
          ? `demand exceeds capacity in total by ${excess}, and it removes ${cores(c.vm.cpuCores)} cores / ${gib(c.vm.memBytes)} GiB at the lowest price per share of that excess`
          : why === 'no-host'
            ? 'it fits no on-prem host under the targets'
            : 'the rest do not pack onto the hosts under the targets with it, and it is the cheapest burstable VM to move out';
      const horizonCost = c.choice.pricePerHour * h;
      const monthlyCost = c.choice.pricePerHour * HOURS_PER_MONTH;
      return {
        kind: 'burst-out',
        vmId: c.vm.vmId,
        fromHost: c.vm.hostId,
        cpuCores: c.vm.cpuCores,
        memBytes: c.vm.memBytes,
        choice: c.choice,
        horizonCost,
        monthlyCost,
        reason:
          `${c.vm.vmId} (predicted p95 ${cores(c.vm.cpuCores)} cores${c.vm.source ? `, ${c.vm.source}` : ''}, ${gib(c.vm.memBytes)} GiB, on ${c.vm.hostId}): ${state}; ${because}; ` +
          `run it as ${instanceLabel(c.choice.instance)} ${c.choice.pricing} (${c.choice.instance.vcpus} vCPUs / ${c.choice.instance.memoryGiB} GiB for its ${c.need.vcpus} vCPUs / ${gib(c.need.memBytes)} GiB) ` +
          `at ${rate(c.choice.pricePerHour, cur)}: ${money(horizonCost, cur)} for ${h} h` +
          (c.choice.pricing === 'spot' ? '; spot capacity can be reclaimed at short notice' : ''),
      };
    });
  const horizonCost = suggestions.reduce((s, x) => s + x.horizonCost, 0);
  const monthlyCost = suggestions.reduce((s, x) => s + x.monthlyCost, 0);
  const unhelped = noOffer.length > 0 ? `; ${noOffer.length} burstable VM(s) have no allowed offer that fits (${noOffer.join(', ')})` : '';
  const reason =
    suggestions.length === 0 && stillUnplaced.length === 0
      ? `no burst: on-prem holds its forecast demand (${loadText(before)}) under the targets for the next ${h} h`
      : `${state}: burst ${suggestions.length} VM(s) for ${money(horizonCost, cur)} over ${h} h (${money(monthlyCost, cur)}/month at that rate); on-prem after: ${loadText(after)}` +
        (stillUnplaced.length > 0 ? `; still no room under the targets for ${stillUnplaced.join(', ')}: add capacity or allow them to burst` : '') +
        unhelped;
  return { horizonHours: h, currency: cur, before, after, suggestions, horizonCost, monthlyCost, stillUnplaced, reason };
}

/** The fleet, its cloud VMs, and what on-prem power costs (to price bringing a VM back). */
export interface RepatriationInput {
  snapshot: FleetSnapshot;
  cloudVms: readonly CloudVm[];
  catalog: InstanceCatalog;
  hostProfiles: HostProfiles;
}

/** Bring one cloud VM back to an on-prem host. */
export interface RepatriationSuggestion {
  kind: 'repatriate';
  vmId: string;
  toHost: string;
  from: InstanceChoice;
  cloudMonthly: number;
  /** Extra on-prem power per month for it (the host's amortisation is paid either way). */
  onPremMonthly: number;
  monthlySavings: number;
  reason: string;
}

/** Cloud VMs that on-prem has room for and that save money there. */
export interface RepatriationPlan {
  currency: string;
  suggestions: RepatriationSuggestion[];
  monthlySavings: number;
  /** Cloud VMs not brought back, each with why. */
  skipped: { vmId: string; reason: string }[];
  reason: string;
}

/**
 * Repatriation: when on-prem holds its own forecast demand under the targets, places cloud VMs
 * (most expensive first) on hosts with room, as the placement scheduler would, and suggests those
 * whose cloud bill exceeds the extra on-prem power by more than the policy's threshold. Deterministic.
 */
export function suggestRepatriation(input: RepatriationInput, policy: BurstPolicy = DEFAULT_BURST_POLICY): RepatriationPlan {
  checkPolicy(policy);
  const { snapshot, catalog } = input;
  const cur = catalog.currency;
  const onPremIds = new Set(snapshot.vms.map((v) => v.vmId));
  for (const v of input.cloudVms) {
    if (onPremIds.has(v.vmId)) throw new NovaError('COST_INVALID_INPUT', `VM ${v.vmId} is both in the on-prem snapshot and among the cloud VMs; list it once`, { details: { vmId: v.vmId } });
    if (!(v.cpuCores >= 0 && v.memBytes >= 0)) throw new NovaError('COST_INVALID_INPUT', `cloud VM ${v.vmId}: cpuCores and memBytes must be ≥ 0, got ${v.cpuCores} and ${v.memBytes}`, { details: { vmId: v.vmId } });
  }
  const vms = [...snapshot.vms].sort((a, b) => compareIds(a.vmId, b.vmId));
  const load = loadOf(snapshot, vms, policy);
  const priced = input.cloudVms
    .map((vm) => ({ vm, from: currentChoice(catalog, vm.instance) }))
    .sort((a, b) => b.from.pricePerHour - a.from.pricePerHour || compareIds(a.vm.vmId, b.vm.vmId));
  if (planConsolidation(snapshot, policy).unplaced.length > 0) {
    const reason = `on-prem cannot hold its own forecast demand under the targets (${loadText(load)}): bring nothing back; see burst-out`;
    return { currency: cur, suggestions: [], monthlySavings: 0, skipped: priced.map((p) => ({ vmId: p.vm.vmId, reason })), reason };
  }

  const hostCores = new Map(snapshot.hosts.map((x) => [x.hostId, x.cpuCores]));
  const baseLoad = new Map(snapshot.hosts.map((x) => [x.hostId, { cpu: 0, count: 0 }]));
  for (const v of vms) {
    const l = baseLoad.get(v.hostId);
    if (!l) throw new NovaError('COST_INVALID_INPUT', `VM ${v.vmId} runs on host ${v.hostId}, which the snapshot does not list`);
    l.cpu += v.cpuCores;
    l.count += 1;
  }
  const accepted: { vm: CloudVm; hostId: string }[] = [];
  // PlacementState records a VM as it places it; after a refusal on price it is rebuilt from the
  // accepted VMs, so later VMs see exactly the hosts' loads the suggestions produce.
  const maintenance = snapshot.hosts.filter((x) => x.maintenance === true).map((x) => x.hostId);
  const build = () =>
    new PlacementState({ ...snapshot, vms: [...vms, ...accepted.map(({ vm, hostId }) => ({ vmId: vm.vmId, hostId, cpuCores: vm.cpuCores, memBytes: vm.memBytes }))] }, policy, { maintenance });
  let placement = build();
  const hostLoad = new Map([...baseLoad].map(([id, l]) => [id, { ...l }]));
  const suggestions: RepatriationSuggestion[] = [];
  const skipped: { vmId: string; reason: string }[] = [];
  for (const { vm, from } of priced) {
    const decision = placement.place({ vmId: vm.vmId, cpuCores: vm.cpuCores, memBytes: vm.memBytes, ...(vm.allowedHosts ? { allowedHosts: vm.allowedHosts } : {}) });
    const cloudMonthly = from.pricePerHour * HOURS_PER_MONTH;
    const what = `${vm.vmId} (predicted p95 ${cores(vm.cpuCores)} cores${vm.source ? `, ${vm.source}` : ''}, ${gib(vm.memBytes)} GiB) on ${instanceLabel(from.instance)} ${from.pricing} at ${rate(from.pricePerHour, cur)} = ${money(cloudMonthly, cur)}/month`;
    if (!decision) {
      skipped.push({ vmId: vm.vmId, reason: `${what}: no on-prem host${vm.allowedHosts ? ' it may use' : ''} has room for it under the targets` });
      continue;
    }
    const l = hostLoad.get(decision.hostId)!;
    const hostCpu = hostCores.get(decision.hostId)!;
    const profile = profileFor(input.hostProfiles, decision.hostId);
    const uBefore = hostCpu > 0 ? l.cpu / hostCpu : 0;
    const uAfter = hostCpu > 0 ? (l.cpu + vm.cpuCores) / hostCpu : 0;
    const powerBefore = powerCostPerHour(profile, uBefore, l.count > 0);
    const powerAfter = powerCostPerHour(profile, uAfter, true);
    const onPremMonthly = (powerAfter.perHour - powerBefore.perHour) * HOURS_PER_MONTH;
    const monthlySavings = cloudMonthly - onPremMonthly;
    const onPrem =
      `on ${decision.hostId} (${l.count > 0 ? `running, CPU ${pct(uBefore)} → ${pct(uAfter)}` : `empty and off: powering it on at ${pct(uAfter)} CPU`}) power goes ` +
      `${powerBefore.watts.toFixed(0)} → ${powerAfter.watts.toFixed(0)} W${(profile.pue ?? 1) !== 1 ? ` × PUE ${profile.pue}` : ''} at ${money(profile.pricePerKWh, cur)}/kWh = +${money(onPremMonthly, cur)}/month (its amortisation is paid either way)`;
    if (!(monthlySavings > policy.minMonthlySavings)) {
      skipped.push({ vmId: vm.vmId, reason: `${what}; ${onPrem}; saves ${money(monthlySavings, cur)}/month, not more than the ${money(policy.minMonthlySavings, cur)} threshold` });
      placement = build();
      continue;
    }
    accepted.push({ vm, hostId: decision.hostId });
    l.cpu += vm.cpuCores;
    l.count += 1;
    suggestions.push({
      kind: 'repatriate',
      vmId: vm.vmId,
      toHost: decision.hostId,
      from,
      cloudMonthly,
      onPremMonthly,
      monthlySavings,
      reason: `${what}; ${onPrem}; saves ${money(monthlySavings, cur)}/month; placement: ${decision.reason}`,
    });
  }
  const monthlySavings = suggestions.reduce((s, x) => s + x.monthlySavings, 0);
  const reason =
    suggestions.length === 0
      ? `bring nothing back: ${input.cloudVms.length === 0 ? 'no cloud VMs' : `none of ${input.cloudVms.length} cloud VM(s) both fits on-prem under the targets and saves money there`} (on-prem ${loadText(load)})`
      : `bring ${suggestions.length} of ${input.cloudVms.length} cloud VM(s) back, saving ${money(monthlySavings, cur)}/month; on-prem before: ${loadText(load)}`;
  return { currency: cur, suggestions, monthlySavings, skipped, reason };
}

function checkPolicy(p: BurstPolicy): void {
  for (const [field, value] of [
    ['cpuTargetUtilization', p.cpuTargetUtilization],
    ['memTargetUtilization', p.memTargetUtilization],
    ['horizonHours', p.horizonHours],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0)) throw new NovaError('COST_INVALID_INPUT', `burst policy field ${field} must be a positive number, got ${value}`, { details: { field } });
  }
  if (!Number.isFinite(p.minMonthlySavings)) throw new NovaError('COST_INVALID_INPUT', `burst policy field minMonthlySavings must be a number, got ${p.minMonthlySavings}`, { details: { field: 'minMonthlySavings' } });
}

// Summed in id order so the same fleet gives the same figures bit for bit.
function loadOf(snapshot: FleetSnapshot, vms: readonly VmDemand[], policy: ConsolidationPolicy): OnPremLoad {
  const hosts = [...snapshot.hosts].sort((a, b) => compareIds(a.hostId, b.hostId));
  let cpuTarget = 0;
  let memTarget = 0;
  for (const x of hosts) {
    // A host in maintenance takes no VM; a cluster may have its own targets (as the planner reads them).
    if (x.maintenance === true) continue;
    const t = x.cluster !== undefined ? policy.clusters?.[x.cluster] : undefined;
    cpuTarget += x.cpuCores * (t?.cpuTargetUtilization ?? policy.cpuTargetUtilization);
    memTarget += x.memBytes * (t?.memTargetUtilization ?? policy.memTargetUtilization);
  }
  let cpuDemand = 0;
  let memDemand = 0;
  for (const v of vms) {
    cpuDemand += v.cpuCores;
    memDemand += v.memBytes;
  }
  return { cpuDemand, cpuTarget, memDemand, memTarget };
}

function fitsTotal(l: OnPremLoad): boolean {
  return withinTolerance(l.cpuDemand, l.cpuTarget) && withinTolerance(l.memDemand, l.memTarget);
}

function loadText(l: OnPremLoad): string {
  return `${cores(l.cpuDemand)} of ${cores(l.cpuTarget)} target cores (${pct(l.cpuTarget > 0 ? l.cpuDemand / l.cpuTarget : 0)}), ${gib(l.memDemand)} of ${gib(l.memTarget)} target GiB`;
}
