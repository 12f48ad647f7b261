import { assess, worthIt } from './benefit-gate.ts';
import type { Fleet } from './fleet-model.ts';
import { pack, type Packing } from './pack.ts';
import { summarize } from './packing-summary.ts';

/**
 * Fits a packing into the migration budget: the moves that must happen (maintenance, must-rules,
 * overload) come first; then as many of the hosts worth emptying as the rest of the budget allows,
 * best saving per migration first. When the must-happen moves alone exceed it, the scheduler
 * keeps the highest-priority ones.
 */
export function withinBudget(fleet: Fleet, p: Packing, allowed: number, horizon: number): Packing {
  if (summarize(fleet, p).migrations <= allowed) return p;
  const running = fleet.hosts.filter((h) => h.vmCount > 0 && !h.maintenance).map((h) => h.index);
  const base = worthIt(fleet, pack(fleet, running), horizon);
  const baseMoves = summarize(fleet, base).migrations;
  if (baseMoves >= allowed) return base;
  const emptiedInBase = new Set(assess(fleet, base, horizon).values.map((v) => v.host));
  const ranked = assess(fleet, p, horizon)
    .values.filter((v) => v.voluntary > 0 && !emptiedInBase.has(v.host))
    .sort((a, b) => (b.benefitWh - b.costWh) / b.voluntary - (a.benefitWh - a.costWh) / a.voluntary || a.host - b.host);
  const attempt = (k: number): Packing => {
    const emptied = new Set(ranked.slice(0, k).map((v) => v.host));
    return worthIt(fleet, pack(fleet, running.filter((h) => !emptied.has(h))), horizon);
  };
  // The hosts' own migrations predict how many fit; packing decides, and a binary search below
  // the prediction corrects it when other VMs had to move too.
  let k = 0;
  for (let used = baseMoves; k < ranked.length && used + ranked[k]!.voluntary <= allowed; k++) used += ranked[k]!.voluntary;
  if (k > 0) {
    const predicted = attempt(k);
    if (summarize(fleet, predicted).migrations <= allowed) return predicted;
  }
  let bestFit = base;
  for (let lo = 1, hi = k - 1; lo <= hi; ) {
    const mid = (lo + hi) >> 1;
    const q = attempt(mid);
    if (summarize(fleet, q).migrations <= allowed) {
      bestFit = q;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return bestFit;
}

