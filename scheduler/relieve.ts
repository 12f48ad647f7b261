import { spend, type ForcedOutcome, type MoveBudget } from './budget.ts';
import { withinCapacity, type Item } from './fleet-model.ts';
import type { FleetState } from './fleet-state.ts';

/**
 * Relieves overloaded hosts (short of CPU now, their relief quantile above capacity, memory over
 * target, or a VM outgrowing the host's cores). Relief does not act on a high quantile: an
 * overload found now ends within one migration time, while preventive moves on noise cost more
 * than they save. An overloaded host first sheds the VMs that outgrow its cores, then, while its
 * predicted quantile is over target, the VMs that relieve most per second of migration (by
 * memory when memory is the problem); they go, largest first, to the most efficient host that
 * takes each, waking one if it must. A VM that fits nowhere stays, and while the host is still
 * over the next candidate is tried. Hysteresis yields to overload. Returns the items that found no host and those over the budget.
 */
export function relieve(state: FleetState, budget: MoveBudget): ForcedOutcome {
  const unplaced: Item[] = [];
  const deferred: ForcedOutcome['deferred'] = [];
  for (const host of state.fleet.hosts) {
    const h = host.index;
    if (state.source[h] === 1 || host.maintenance || !state.overloaded(h)) continue;
    state.markSource(h);
    const z = state.fleet.policy.reliefZ;
    const movable = state.itemsOn(h).filter((it) => !it.stuck && it.members.every((v) => state.hostOf[v] === h));
    const mustGo = state.largestFirst(movable.filter((it) => it.members.some((v) => state.tooBig(v, h, z))));
    const rest = movable.filter((it) => !mustGo.includes(it));
    const shed = (it: Item): void => {
      const to = state.target(it, h, true);
      if (to < 0) unplaced.push(it);
      else if (!spend(budget, it.members.length)) deferred.push({ item: it, to });
      else state.moveItem(it, to, 'overload');
    };
    // Choose what the host sheds as if they were gone, then move them, largest first; should one
    // fit nowhere while the host is still over, the next best candidate is tried.
    const chosen = [...mustGo];
    const lifted = chosen.map((it) => state.lift(it));
    while (!settled(state, h) && rest.length > 0) {
      const it = rest.splice(bestRelief(state, h, rest), 1)[0]!;
      chosen.push(it);
      lifted.push(state.lift(it));
    }
    for (let i = chosen.length - 1; i >= 0; i--) state.restore(chosen[i]!, lifted[i]!);
    for (const it of state.largestFirst(chosen)) shed(it);
    while (!settled(state, h) && rest.length > 0) shed(rest.splice(bestRelief(state, h, rest), 1)[0]!);
  }
  return { unplaced, deferred };
}

/** Host h is back within bounds: CPU now and memory within capacity, predicted quantile within target. */
function settled(state: FleetState, h: number): boolean {
  const host = state.fleet.hosts[h]!;
  return withinCapacity(state.claims[h]!, host.cpu) && withinCapacity(state.mem[h]!, host.memCap) && withinCapacity(state.utilization(h, state.fleet.policy.z), host.cpuTarget);
}

/** Index of the candidate that relieves host h most per second of migration (most memory when memory is over target). */
function bestRelief(state: FleetState, h: number, candidates: readonly Item[]): number {
  const host = state.fleet.hosts[h]!;
  const byMemory = !withinCapacity(state.mem[h]!, host.memCap);
  let best = 0;
  let bestScore = -Infinity;
  candidates.forEach((it, i) => {
    let mem = 0;
    let seconds = 0;
    for (const v of it.members) {
      mem += state.fleet.vms[v]!.mem;
      seconds += state.fleet.vms[v]!.seconds;
    }
    const score = byMemory ? mem : state.itemLevel(it) / Math.max(1e-9, seconds);
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  });
  return best;
}
