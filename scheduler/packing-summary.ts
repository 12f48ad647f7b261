import type { Fleet, Item } from './fleet-model.ts';
import type { Packing } from './pack.ts';
import type { MoveCause } from './types.ts';
import type { MoveGroup, PlannedMove } from './waves.ts';

/** Every VM's migration in a packing, in decision order. */
export function memberMoves(p: Packing, item: Item): PlannedMove[] {
  const to = p.hostOf[item.index]!;
  return item.members.filter((m) => m.host !== to).map((vm) => ({ vm, from: vm.host, to }));
}

/** What a packing leads to: VMs per host, hosts in use, migrations. Computed once per packing. */
export interface Summary {
  counts: Int32Array;
  used: number[];
  migrations: number;
}
const summaries = new WeakMap<Packing, Summary>();

/** The packing's summary (memoised: packings are never changed once made). */
export function summarize(fleet: Fleet, p: Packing): Summary {
  let s = summaries.get(p);
  if (s) return s;
  const counts = Int32Array.from(fleet.hosts, (h) => h.vmCount);
  let total = 0;
  for (const item of p.moves) {
    const to = p.hostOf[item.index]!;
    for (const m of item.members) {
      if (m.host === to) continue;
      counts[m.host]! -= 1;
      counts[to]! += 1;
      total += 1;
    }
  }
  const used: number[] = [];
  for (let h = 0; h < counts.length; h++) if (counts[h]! > 0) used.push(h);
  summaries.set(p, (s = { counts, used, migrations: total }));
  return s;
}

/** VMs on each host once the packing's moves are done. */
export function finalCounts(fleet: Fleet, p: Packing): Int32Array {
  return summarize(fleet, p).counts;
}

/** Hosts running VMs once the packing's moves are done, in host order. */
export function usedHosts(fleet: Fleet, p: Packing): number[] {
  return summarize(fleet, p).used;
}

/** What makes one packing better than another: [unplaced items, hosts in use, migrations], lower first. */
export function score(fleet: Fleet, p: Packing): [number, number, number] {
  const s = summarize(fleet, p);
  return [p.unplaced.length, s.used.length, s.migrations];
}

/** Orders scores lexicographically: fewer unplaced, then fewer hosts, then fewer migrations. */
export function compareScore(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Budget rank of each cause: maintenance evacuations first, consolidation last. */
const RANK: Record<MoveCause, number> = { maintenance: 0, 'must-rule': 1, overload: 2, consolidate: 3, repack: 4 };

/** Why each moving item of a packing moves. */
export function causesOf(fleet: Fleet, p: Packing, counts: Int32Array): Map<Item, MoveCause> {
  const out = new Map<Item, MoveCause>();
  for (const item of p.moves) {
    const from = fleet.hosts[item.host]!;
    out.set(
      item,
      item.priority === 0 ? 'maintenance' : item.priority === 1 ? 'must-rule' : counts[from.index] === 0 ? 'consolidate' : from.overloaded ? 'overload' : 'repack',
    );
  }
  return out;
}

/** The packing's moves as groups for the scheduler, in decision order, with their causes. */
export function moveGroups(fleet: Fleet, p: Packing): { groups: MoveGroup[]; causes: MoveCause[] } {
  const counts = finalCounts(fleet, p);
  const causeOf = causesOf(fleet, p, counts);
  const groups: MoveGroup[] = [];
  const causes: MoveCause[] = [];
  for (const item of p.moves) {
    const moves = memberMoves(p, item);
    if (moves.length === 0) continue;
    const cause = causeOf.get(item)!;
    groups.push({ moves, rank: RANK[cause] });
    causes.push(cause);
  }
  return { groups, causes };
}
