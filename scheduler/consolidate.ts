import { spend, type MoveBudget } from './budget.ts';
import { withinCapacity, type Item } from './fleet-model.ts';
import type { FleetState } from './fleet-state.ts';

/** A host the consolidation pass emptied: what switching it off saves against what moving its VMs costs. */
export interface Emptied {
  host: number;
  /** Its draw less what its VMs add where they went, watts. */
  savedWatts: number;
  costWh: number;
}

/**
 * Empties clearly under-used hosts (predicted quantile below the underload fraction) when all
 * their VMs fit on running hosts, cheapest to empty first (an emptied host saves about its idle
 * power whatever it ran, but each VM costs one migration, its seconds of degraded hosts), the least
 * efficient first among equals (so the efficient hosts are the ones kept). A host
 * is emptied all or nothing, only when the energy saved over the horizon beats the migrations'
 * cost, without breaking a should-rule, and never when it received a VM in this plan or within the settle time, holds a VM moved
 * within the hysteresis window, or would exceed the budget.
 */
export function consolidate(state: FleetState, budget: MoveBudget): Emptied[] {
  const { fleet } = state;
  const p = fleet.policy;
  const candidates: number[] = [];
  const cost = new Float64Array(fleet.hosts.length);
  const load = new Float64Array(fleet.hosts.length);
  for (const host of fleet.hosts) {
    const h = host.index;
    if (state.lists[h]!.length === 0 || host.maintenance || host.settling || state.source[h] === 1 || state.received[h]! > 0) continue;
    load[h] = state.utilization(h, p.z);
    if (!withinCapacity(load[h]!, p.underloadUtilization)) continue;
    for (const v of state.lists[h]!) cost[h] = cost[h]! + fleet.vms[v]!.seconds;
    candidates.push(h);
  }
  // Cheapest to empty first, then the least loaded; between equals the least efficient, so the efficient ones are kept.
  const wpc = (h: number) => fleet.hosts[h]!.wattsPerCore;
  candidates.sort((a, b) => cost[a]! - cost[b]! || load[a]! - load[b]! || wpc(b) - wpc(a) || a - b);

  const emptied: Emptied[] = [];
  for (const h of candidates) {
    if (state.received[h]! > 0 || state.source[h] === 1) continue;
    const items = state.itemsOn(h);
    const moves = state.lists[h]!.length;
    if (moves > budget.left || items.some((it) => it.pinned || it.stuck || it.members.some((v) => state.hostOf[v] !== h))) continue;
    const outcome = tryEmpty(state, h, items);
    if (outcome === null || !spend(budget, moves)) continue;
    emptied.push(outcome);
  }
  return emptied;
}

/** Moves all of h's items to running hosts if they fit and it pays; else leaves everything as it was and returns null. */
function tryEmpty(state: FleetState, h: number, items: readonly Item[]): Emptied | null {
  const { fleet } = state;
  const mark = state.moves.length;
  const ownWatts = state.watts(h);
  state.markSource(h);
  const targetWatts = new Map<number, number>();
  for (const it of state.largestFirst(items)) {
    const to = state.target(it, h, false, false);
    if (to < 0) {
      state.rollback(mark);
      state.unmarkSource(h);
      return null;
    }
    if (!targetWatts.has(to)) targetWatts.set(to, state.watts(to));
    state.moveItem(it, to, 'consolidate');
  }
  let added = 0;
  for (const [t, before] of targetWatts) added += state.watts(t) - before;
  let costWh = 0;
  for (let i = mark; i < state.moves.length; i++) costWh += fleet.vms[state.moves[i]!.vm]!.costWh;
  const savedWatts = Math.max(0, ownWatts - added);
  // Worth it only when the energy saved over the horizon beats the migrations' cost.
  if (costWh > 0 && !(savedWatts * fleet.policy.horizonHours > costWh)) {
    state.rollback(mark);
    state.unmarkSource(h);
    return null;
  }
  return { host: h, savedWatts, costWh };
}
