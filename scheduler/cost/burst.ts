import { NovaError } from '../../core/index.ts';
import { forecastDemand } from '../demand.ts';
import { planMoves } from '../plan-fleet.ts';
import { PlacementState } from '../placement.ts';
import { clusterTargets, resolvePolicy, type ResolvedPolicy } from '../policy.ts';
import { DEFAULT_POLICY, type ConsolidationPlan, type ConsolidationPolicy, type FleetSnapshot, type VmDemand } from '../types.ts';
import type { InstanceCatalog } from './catalog.ts';
import { instanceLabel } from './catalog.ts';
import { compareIds, cores, gib, HOURS_PER_MONTH, money, pct, rate, withinTolerance } from './format.ts';
import { powerCostPerHour, profileFor, type HostProfiles } from './model.ts';
import { cheapestFit, currentChoice, narrowConstraints } from './select.ts';
import type { CloudConstraints, CloudVm, InstanceChoice, InstanceNeed } from './types.ts';

/**
 * How long a burst lasts, which cloud offers it may use, and the repatriation threshold. On-prem
 * capacity is the consolidation planner's: `consolidation` (default the product's policy) is what
 * decides whether on-prem holds the demand.
 */
export interface BurstPolicy {
  /** How long the forecast demand holds: what a burst is priced for, hours. */
  horizonHours: number;
  /** Offers any bursting VM may use; a VM's own constraints narrow them. `spotAllowed: true` lets spot compete. */
  constraints: CloudConstraints;
  /** A cloud VM comes back only when that saves more than this per month. */
  minMonthlySavings: number;
  /** The consolidation policy (targets, quantile, clusters) the planner runs under (default DEFAULT_POLICY). */
  consolidation?: ConsolidationPolicy;
}

/** A 24 h horizon, any on-demand offer, any saving, the product's consolidation policy. */
export const DEFAULT_BURST_POLICY: Readonly<BurstPolicy> = Object.freeze({ horizonHours: 24, constraints: Object.freeze({}), minMonthlySavings: 0 });

/** An on-prem VM allowed to run in the cloud, and the size its instance must have. */
export interface BurstProfile {
  vcpus: number;
  /** Default: the memory the snapshot reserves for it. */
  memBytes?: number;
  constraints?: CloudConstraints;
}

/** On-prem forecast demand (each VM at the policy's cpuQuantile, summed) against capacity under the targets. */
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
  /** Its forecast demand at the policy's cpuQuantile, cores, and the memory it reserves. */
  cpuCores: number;
  memBytes: number;
  choice: InstanceChoice;
  horizonCost: number;
  monthlyCost: number;
  reason: string;
}

/** Which VMs to burst so the planner can place every VM and relieve every host, and what that costs. */
export interface BurstOutPlan {
  horizonHours: number;
  currency: string;
  /** Quantile of each VM's forecast the loads count (the consolidation policy's cpuQuantile). */
  cpuQuantile: string;
  before: OnPremLoad;
  after: OnPremLoad;
  suggestions: BurstOutSuggestion[];
  horizonCost: number;
  monthlyCost: number;
  /** VMs that still must move and find no host after every burstable VM that could help is sent out (sorted). */
  stillUnplaced: string[];
  /** Hosts still overloaded after that (sorted). */
  stillOverloaded: string[];
  reason: string;
}

interface Candidate {
  vm: VmDemand;
  cpu: number;
  need: InstanceNeed;
  choice: InstanceChoice;
}

type Why = 'excess' | 'no-host' | 'repack';

/** What a moves plan leaves undone for want of room: VMs that had to move and found no host, hosts still overloaded; null when nothing. */
export function onPremShortfall(plan: Pick<ConsolidationPlan, 'unplaced' | 'risk'>): { unplaced: string[]; overloaded: string[] } | null {
  const overloaded = plan.risk?.hostsOverloaded ?? [];
  return plan.unplaced.length > 0 || overloaded.length > 0 ? { unplaced: [...plan.unplaced], overloaded: [...overloaded] } : null;
}

/**
 * The question "does on-prem hold it?" is about room, not about this hour's migration budget: the
 * planner is asked without the per-plan and per-hour limits.
 */
export function capacityPolicy(policy: ConsolidationPolicy): ConsolidationPolicy {
  const { maxMigrationsPerPlan: _perPlan, maxMigrationsPerHour: _perHour, ...rest } = policy;
  return rest;
}

/**
 * Burst-out: when the consolidation planner (planMoves, without the migration budget) leaves VMs
 * that must move without a host, or hosts overloaded, sends burstable VMs to their cheapest
 * fitting cloud offers until it does not. While the forecast demand exceeds the capacity under the
 * targets in total, VMs go by price per share of the excess they remove; after that, VMs that
 * must move and found no host, then the cheapest, one at a time; finally any pick whose return
 * leaves the shortfall no worse is dropped. Returns no suggestion when on-prem suffices. Deterministic.
 */
export function suggestBurstOut(input: BurstOutInput, policy: BurstPolicy = DEFAULT_BURST_POLICY): BurstOutPlan {
  checkPolicy(policy);
  const consolidation = capacityPolicy(policy.consolidation ?? DEFAULT_POLICY);
  const resolved = resolvePolicy(consolidation);
  const q = resolved.cpuQuantile;
  const { snapshot, catalog } = input;
  const cur = catalog.currency;
  const h = policy.horizonHours;
  const vms = [...snapshot.vms].sort((a, b) => compareIds(a.vmId, b.vmId));
  const demand = demandAtQuantile(vms, resolved);
  const candidates: Candidate[] = [];
  const noOffer: string[] = [];
  for (const vm of vms) {
    const profile = input.burstable[vm.vmId];
    if (!profile) continue;
    const need = { vcpus: profile.vcpus, memBytes: profile.memBytes ?? vm.memBytes };
    if (!(need.vcpus > 0 && need.memBytes > 0)) throw new NovaError('COST_INVALID_INPUT', `burstable VM ${vm.vmId}: vcpus and memBytes must be > 0, got ${need.vcpus} and ${need.memBytes}`, { details: { vmId: vm.vmId } });
    const choice = cheapestFit(catalog, need, narrowConstraints(policy.constraints, profile.constraints ?? {}));
    if (choice) candidates.push({ vm, cpu: demand.get(vm.vmId)!, need, choice });
    else noOffer.push(vm.vmId);
  }

  const before = loadOf(snapshot, vms, demand, resolved);
  const selected = new Map<string, { c: Candidate; why: Why; excess?: string }>();
  let firstShort: { unplaced: string[]; overloaded: string[] } | null = null;
  let still: { unplaced: string[]; overloaded: string[] } = { unplaced: [], overloaded: [] };
  const byPrice = (a: Candidate, b: Candidate) => a.choice.pricePerHour - b.choice.pricePerHour || compareIds(a.vm.vmId, b.vm.vmId);
  for (;;) {
    const remaining = vms.filter((v) => !selected.has(v.vmId));
    const plan = planMoves({ ...snapshot, vms: remaining }, consolidation);
    const short = onPremShortfall(plan);
    if (!short) break;
    firstShort ??= short;
    const pool = candidates.filter((c) => !selected.has(c.vm.vmId));
    const load = loadOf(snapshot, remaining, demand, resolved);
    let took = 0;
    if (!fitsTotal(load)) {
      const exCpu = load.cpuDemand - load.cpuTarget;
      const exMem = load.memDemand - load.memTarget;
      const relief = (c: Candidate) => Math.max(exCpu > 0 ? Math.min(c.cpu, exCpu) / exCpu : 0, exMem > 0 ? Math.min(c.vm.memBytes, exMem) / exMem : 0);
      const ranked = pool
        .map((c) => ({ c, key: c.choice.pricePerHour / relief(c) }))
        .filter((r) => Number.isFinite(r.key))
        .sort((a, b) => a.key - b.key || compareIds(a.c.vm.vmId, b.c.vm.vmId));
      const left = { ...load };
      const excess = [exCpu > 0 ? `${cores(exCpu)} cores` : '', exMem > 0 ? `${gib(exMem)} GiB` : ''].filter(Boolean).join(' and ');
      for (const { c } of ranked) {
        if (fitsTotal(left)) break;
        selected.set(c.vm.vmId, { c, why: 'excess', excess });
        left.cpuDemand -= c.cpu;
        left.memDemand -= c.vm.memBytes;
        took++;
      }
    }
    if (took === 0) {
      // The total fits (or nothing more helps it): what blocks the plan is where VMs fit.
      const stuck = new Set(short.unplaced);
      const homeless = pool.filter((c) => stuck.has(c.vm.vmId)).sort(byPrice);
      for (const c of homeless) selected.set(c.vm.vmId, { c, why: 'no-host' });
      took = homeless.length;
      if (took === 0) {
        // Freeing room anywhere may let the planner place what must move: the cheapest first (pruned below if it did not help).
        const first = [...pool].sort(byPrice)[0];
        if (first) {
          selected.set(first.vm.vmId, { c: first, why: 'repack' });
          took = 1;
        }
      }
    }
    if (took === 0) {
      still = short;
      break;
    }
  }
  // Greedy picks may include VMs that turned out not to matter: one whose return adds no VM
  // without a host and no overloaded host stays on-prem (latest picks are tried first).
  for (const id of [...selected.keys()].reverse()) {
    const entry = selected.get(id)!;
    selected.delete(id);
    const short = onPremShortfall(planMoves({ ...snapshot, vms: vms.filter((v) => !selected.has(v.vmId)) }, consolidation));
    if (within(short, still)) still = short ?? { unplaced: [], overloaded: [] };
    else selected.set(id, entry);
  }

  const after = loadOf(snapshot, vms.filter((v) => !selected.has(v.vmId)), demand, resolved);
  const state = `on-prem forecast demand ${loadText(before, q)} over the next ${h} h`;
  const trigger = firstShort ? shortText(firstShort) : '';
  const suggestions = [...selected.values()]
    .sort((a, b) => compareIds(a.c.vm.vmId, b.c.vm.vmId))
    .map(({ c, why, excess }): BurstOutSuggestion => {
      const because =
        why === 'excess'
          ? `demand exceeds capacity in total by ${excess}, and it removes ${cores(c.cpu)} cores / ${gib(c.vm.memBytes)} GiB at the lowest price per share of that excess`
          : why === 'no-host'
            ? 'it must move and fits no on-prem host under the targets'
            : 'the rest do not fit on the hosts under the targets with it, and it is the cheapest burstable VM to move out';
      const horizonCost = c.choice.pricePerHour * h;
      const monthlyCost = c.choice.pricePerHour * HOURS_PER_MONTH;
      return {
        kind: 'burst-out',
        vmId: c.vm.vmId,
        fromHost: c.vm.hostId,
        cpuCores: c.cpu,
        memBytes: c.vm.memBytes,
        choice: c.choice,
        horizonCost,
        monthlyCost,
        reason:
          `${c.vm.vmId} (predicted ${q} ${cores(c.cpu)} cores${c.vm.source ? `, ${c.vm.source}` : ''}, ${gib(c.vm.memBytes)} GiB, on ${c.vm.hostId}): ${state}; ${trigger}; ${because}; ` +
          `run it as ${instanceLabel(c.choice.instance)} ${c.choice.pricing} (${c.choice.instance.vcpus} vCPUs / ${c.choice.instance.memoryGiB} GiB for its ${c.need.vcpus} vCPUs / ${gib(c.need.memBytes)} GiB) ` +
          `at ${rate(c.choice.pricePerHour, cur)}: ${money(horizonCost, cur)} for ${h} h` +
          (c.choice.pricing === 'spot' ? '; spot capacity can be reclaimed at short notice' : ''),
      };
    });
  const horizonCost = suggestions.reduce((s, x) => s + x.horizonCost, 0);
  const monthlyCost = suggestions.reduce((s, x) => s + x.monthlyCost, 0);
  const unhelped = noOffer.length > 0 ? `; ${noOffer.length} burstable VM(s) have no allowed offer that fits (${noOffer.join(', ')})` : '';
  const stillUnplaced = [...still.unplaced].sort(compareIds);
  const stillOverloaded = [...still.overloaded].sort(compareIds);
  const left = [stillUnplaced.length > 0 ? `no host for ${stillUnplaced.join(', ')}` : '', stillOverloaded.length > 0 ? `host(s) ${stillOverloaded.join(', ')} still overloaded` : ''].filter(Boolean).join(', ');
  const reason = !firstShort
    ? `no burst: on-prem holds its forecast demand (${loadText(before, q)}): the planner places every VM that must move and leaves no host overloaded`
    : `${state}; ${trigger}: burst ${suggestions.length} VM(s) for ${money(horizonCost, cur)} over ${h} h (${money(monthlyCost, cur)}/month at that rate); on-prem after: ${loadText(after, q)}` +
      (left !== '' ? `; still ${left}: add capacity or allow more VMs to burst` : '') +
      unhelped;
  return { horizonHours: h, currency: cur, cpuQuantile: q, before, after, suggestions, horizonCost, monthlyCost, stillUnplaced, stillOverloaded, reason };
}

/** The fleet, its cloud VMs, and what on-prem power costs (to price bringing a VM back). */
export interface RepatriationInput {
  snapshot: FleetSnapshot;
  cloudVms: readonly CloudVm[];
  catalog: InstanceCatalog;
  hostProfiles: HostProfiles;
  /** The moves plan of `snapshot` under the policy's consolidation, when already made (default: planMoves makes it). */
  plan?: ConsolidationPlan;
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
 * Repatriation: when the moves plan leaves no VM without a host and no host overloaded, places
 * cloud VMs (most expensive first) on the fleet as the plan leaves it, by the placement rules
 * (PlacementState: the planner's forecasts and targets, per cluster, hosts in maintenance
 * excluded), and suggests those whose cloud bill exceeds the extra on-prem power by more than the
 * policy's threshold. Deterministic.
 */
export function suggestRepatriation(input: RepatriationInput, policy: BurstPolicy = DEFAULT_BURST_POLICY): RepatriationPlan {
  checkPolicy(policy);
  const consolidation = policy.consolidation ?? DEFAULT_POLICY;
  const resolved = resolvePolicy(consolidation);
  const q = resolved.cpuQuantile;
  const { catalog } = input;
  const cur = catalog.currency;
  const onPremIds = new Set(input.snapshot.vms.map((v) => v.vmId));
  for (const v of input.cloudVms) {
    if (onPremIds.has(v.vmId)) throw new NovaError('COST_INVALID_INPUT', `VM ${v.vmId} is both in the on-prem snapshot and among the cloud VMs; list it once`, { details: { vmId: v.vmId } });
    if (!(v.cpuCores >= 0 && v.memBytes >= 0)) throw new NovaError('COST_INVALID_INPUT', `cloud VM ${v.vmId}: cpuCores and memBytes must be ≥ 0, got ${v.cpuCores} and ${v.memBytes}`, { details: { vmId: v.vmId } });
  }
  const plan = input.plan ?? planMoves(input.snapshot, consolidation);
  // Cloud VMs land on the fleet as the plan leaves it: a host the plan empties is off, not free room on a running host.
  const where = hostsAfter(plan);
  const snapshot: FleetSnapshot = { ...input.snapshot, vms: input.snapshot.vms.map((v) => (where.has(v.vmId) ? { ...v, hostId: where.get(v.vmId)! } : v)) };
  const vms = [...snapshot.vms].sort((a, b) => compareIds(a.vmId, b.vmId));
  const demand = demandAtQuantile(vms, resolved);
  const load = loadOf(snapshot, vms, demand, resolved);
  const priced = input.cloudVms
    .map((vm) => ({ vm, from: currentChoice(catalog, vm.instance) }))
    .sort((a, b) => b.from.pricePerHour - a.from.pricePerHour || compareIds(a.vm.vmId, b.vm.vmId));
  const short = onPremShortfall(plan);
  if (short) {
    const reason = `on-prem cannot hold its own forecast demand (${loadText(load, q)}; ${shortText(short)}): bring nothing back; see burst-out`;
    return { currency: cur, suggestions: [], monthlySavings: 0, skipped: priced.map((p) => ({ vmId: p.vm.vmId, reason })), reason };
  }

  const hostCores = new Map(snapshot.hosts.map((x) => [x.hostId, x.cpuCores]));
  const baseLoad = new Map(snapshot.hosts.map((x) => [x.hostId, { cpu: 0, count: 0 }]));
  for (const v of vms) {
    const l = baseLoad.get(v.hostId);
    if (!l) throw new NovaError('COST_INVALID_INPUT', `VM ${v.vmId} runs on host ${v.hostId}, which the snapshot does not list`);
    l.cpu += demand.get(v.vmId)!;
    l.count += 1;
  }
  const accepted: { vm: CloudVm; hostId: string }[] = [];
  // PlacementState records a VM as it places it; after a refusal on price it is rebuilt from the
  // accepted VMs, so later VMs see exactly the hosts' loads the suggestions produce.
  const build = () =>
    new PlacementState({ ...snapshot, vms: [...vms, ...accepted.map(({ vm, hostId }) => ({ vmId: vm.vmId, hostId, cpuCores: vm.cpuCores, memBytes: vm.memBytes }))] }, consolidation);
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
      ? `bring nothing back: ${input.cloudVms.length === 0 ? 'no cloud VMs' : `none of ${input.cloudVms.length} cloud VM(s) both fits on-prem under the targets and saves money there`} (on-prem after the plan ${loadText(load, q)})`
      : `bring ${suggestions.length} of ${input.cloudVms.length} cloud VM(s) back, saving ${money(monthlySavings, cur)}/month; on-prem after the plan: ${loadText(load, q)}`;
  return { currency: cur, suggestions, monthlySavings, skipped, reason };
}

function checkPolicy(p: BurstPolicy): void {
  if (!(Number.isFinite(p.horizonHours) && p.horizonHours > 0)) throw new NovaError('COST_INVALID_INPUT', `burst policy field horizonHours must be a positive number, got ${p.horizonHours}`, { details: { field: 'horizonHours' } });
  if (!Number.isFinite(p.minMonthlySavings)) throw new NovaError('COST_INVALID_INPUT', `burst policy field minMonthlySavings must be a number, got ${p.minMonthlySavings}`, { details: { field: 'minMonthlySavings' } });
}

/** Each VM's forecast demand at the policy's cpuQuantile, cores, as the planner forecasts it (VMs in id order). */
function demandAtQuantile(vms: readonly VmDemand[], policy: ResolvedPolicy): Map<string, number> {
  const d = forecastDemand(vms, policy);
  return new Map(vms.map((v, i) => [v.vmId, d.level[i]! + policy.z * d.spread[i]!]));
}

/** Where each VM the plan migrates ends up. */
function hostsAfter(plan: Pick<ConsolidationPlan, 'actions'>): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of plan.actions) if (a.kind === 'migrate') out.set(a.vmId, a.toHost);
  return out;
}

// Summed in id order so the same fleet gives the same figures bit for bit.
function loadOf(snapshot: FleetSnapshot, vms: readonly VmDemand[], demand: ReadonlyMap<string, number>, policy: ResolvedPolicy): OnPremLoad {
  const hosts = [...snapshot.hosts].sort((a, b) => compareIds(a.hostId, b.hostId));
  let cpuTarget = 0;
  let memTarget = 0;
  for (const x of hosts) {
    // A host in maintenance takes no VM; a cluster may have its own targets (as the planner reads them).
    if (x.maintenance === true) continue;
    const t = clusterTargets(policy, x.cluster);
    cpuTarget += x.cpuCores * t.cpu;
    memTarget += x.memBytes * t.mem;
  }
  let cpuDemand = 0;
  let memDemand = 0;
  for (const v of vms) {
    cpuDemand += demand.get(v.vmId)!;
    memDemand += v.memBytes;
  }
  return { cpuDemand, cpuTarget, memDemand, memTarget };
}

function fitsTotal(l: OnPremLoad): boolean {
  return withinTolerance(l.cpuDemand, l.cpuTarget) && withinTolerance(l.memDemand, l.memTarget);
}

function loadText(l: OnPremLoad, quantile: string): string {
  return `${quantile} ${cores(l.cpuDemand)} of ${cores(l.cpuTarget)} target cores (${pct(l.cpuTarget > 0 ? l.cpuDemand / l.cpuTarget : 0)}), ${gib(l.memDemand)} of ${gib(l.memTarget)} target GiB`;
}

/** Shortfall `a` is no worse than `b`: every VM without a host and every overloaded host of `a` is also in `b`. */
function within(a: { unplaced: readonly string[]; overloaded: readonly string[] } | null, b: { unplaced: readonly string[]; overloaded: readonly string[] }): boolean {
  if (a === null) return true;
  const vms = new Set(b.unplaced);
  const hosts = new Set(b.overloaded);
  return a.unplaced.every((v) => vms.has(v)) && a.overloaded.every((h) => hosts.has(h));
}

function shortText(s: { unplaced: readonly string[]; overloaded: readonly string[] }): string {
  const parts = [
    s.unplaced.length > 0 ? `the planner finds no host for ${s.unplaced.length} VM(s) that must move (${s.unplaced.join(', ')})` : '',
    s.overloaded.length > 0 ? `it leaves ${s.overloaded.length} host(s) overloaded (${s.overloaded.join(', ')})` : '',
  ].filter(Boolean);
  return parts.join(' and ');
}
