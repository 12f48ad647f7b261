import type { Fleet } from './fleet-model.ts';
import { hostWatts, powerOffBenefitWh, wattsPerCore } from './migration-cost.ts';
import { pack, type Packing } from './pack.ts';
import { causesOf, finalCounts, memberMoves, usedHosts } from './packing-summary.ts';

/** Per emptied host: what powering it off saves over the horizon against what emptying it costs. */
export interface EmptyingValue {
  host: number;
  benefitWh: number;
  costWh: number;
  /** Migrations made only to empty it. */
  voluntary: number;
}

/**
 * Weighs every host a packing empties (saved energy vs summed migration cost) and finds those not
 * worth emptying. Moves off hosts that stay on are not weighed one by one: they relieve an
 * overloaded host, or make the room that lets other hosts be emptied.
 */
export function assess(fleet: Fleet, p: Packing, horizon: number): { values: EmptyingValue[]; failing: number[] } {
  const counts = finalCounts(fleet, p);
  const causes = causesOf(fleet, p, counts);
  const values = new Map<number, EmptyingValue & { addedWatts: number }>();
  const failing = new Set<number>();
  for (const item of p.moves) {
    const cause = causes.get(item)!;
    for (const m of memberMoves(p, item)) {
      const from = fleet.hosts[m.from]!;
      if (counts[from.index] !== 0 || from.maintenance) continue;
      let v = values.get(from.index);
      if (!v) values.set(from.index, (v = { host: from.index, benefitWh: 0, costWh: 0, voluntary: 0, addedWatts: 0 }));
      const to = fleet.hosts[m.to]!;
      v.addedWatts += wattsPerCore(to.idleWatts, to.maxWatts, to.cpuCores) * m.vm.cpu;
      if (cause === 'consolidate') {
        v.costWh += m.vm.costWh;
        v.voluntary += 1;
      }
    }
  }
  const out: EmptyingValue[] = [];
  for (const v of [...values.values()].sort((a, b) => a.host - b.host)) {
    const h = fleet.hosts[v.host]!;
    v.benefitWh = powerOffBenefitWh(hostWatts(h.idleWatts, h.maxWatts, h.cpuBefore, h.cpuCores), v.addedWatts, horizon);
    // Keeping a host whose VMs all had to leave anyway would avoid no move.
    if (v.costWh > 0 && !(v.benefitWh > v.costWh)) failing.add(v.host);
    out.push({ host: v.host, benefitWh: v.benefitWh, costWh: v.costWh, voluntary: v.voluntary });
  }
  return { values: out, failing: [...failing].sort((a, b) => a - b) };
}

/** Re-packs, keeping the hosts whose emptying is not worth its migrations, until every move pays. */
export function worthIt(fleet: Fleet, start: Packing, horizon: number): Packing {
  let p = start;
  const keep = new Set<number>();
  for (;;) {
    const { failing } = assess(fleet, p, horizon);
    if (failing.length === 0) return p;
    const before = keep.size;
    for (const h of usedHosts(fleet, p)) keep.add(h);
    for (const h of failing) keep.add(h);
    // The kept set only grows, so this ends; an unchanged set would re-pack the same plan.
    if (keep.size === before) return p;
    p = pack(fleet, [...keep]);
  }
}

