import { spend, type ForcedOutcome, type MoveBudget } from './budget.ts';
import type { Item } from './fleet-model.ts';
import type { FleetState } from './fleet-state.ts';

/**
 * Moves that fix something whatever the load: VMs leave hosts in maintenance, then VMs that break
 * a must-rule where they run (a host they must not be on, a must-anti-affinity partner beside
 * them, a must-affinity unit split over hosts) go where the rules hold. The hosts they leave shed
 * only in this plan; a split unit gathers on its home host when the rest of it fits there.
 * Returns the items that found no host (they stay) and those over the budget (deferred).
 */
export function evacuate(state: FleetState, budget: MoveBudget): ForcedOutcome {
  const { fleet } = state;
  const forced = fleet.items.filter((it) => it.forced !== null);
  // A split unit's home may receive the rest of the unit, so it is not marked as shedding.
  const gathers = (it: Item) => it.split && it.forced === 'must-rule';
  const shedding = (it: Item) => it.members.map((v) => state.hostOf[v]!).filter((h) => !(gathers(it) && h === it.home));
  for (const it of forced) for (const h of shedding(it)) if (state.source[h] === 0) state.markSource(h);

  const unplaced: Item[] = [];
  const deferred: ForcedOutcome['deferred'] = [];
  const byPriority = (p: Item['forced']) => state.largestFirst(forced.filter((it) => it.forced === p));
  for (const it of [...byPriority('maintenance'), ...byPriority('must-rule')]) {
    const home = gathers(it) && state.source[it.home] === 0 && state.fits(it, it.home, false) ? it.home : -1;
    const to = home >= 0 ? home : state.target(it, -1, true);
    if (to < 0) {
      unplaced.push(it);
      continue;
    }
    const moves = it.members.filter((v) => state.hostOf[v] !== to).length;
    if (!spend(budget, moves)) {
      deferred.push({ item: it, to });
      continue;
    }
    state.moveItem(it, to, it.forced!);
  }
  return { unplaced, deferred };
}
