import type { Experiment } from './experiment.ts';
import type { PowerModel } from './power.ts';
import { utilizationAt } from './workload.ts';

/** What no policy that serves the demand can beat on an experiment (the bound's row of the table). */
export interface EnergyLowerBound {
  readonly name: string;
  /** Energy (kWh) of the cheapest fleet that covers the demand at every instant, with no migration. */
  readonly energyKWh: number;
  /** Host-hours of the fewest hosts (largest first) whose capacity covers the demand. */
  readonly activeHostHours: number;
  /** Mean and largest number of those hosts over the decision intervals. */
  readonly meanHosts: number;
  readonly peakHosts: number;
  /** Wall-clock time of the computation, ms. */
  readonly runtimeMs: number;
}

/** One kind of host: how many, their MIPS, idle watts and the convex envelope of their power curve. */
interface HostClass {
  readonly count: number;
  readonly capacity: number;
  readonly idleWatts: number;
  /** Envelope segments: watts per MIPS (ascending) and MIPS per host. */
  readonly slopes: number[];
  readonly widths: number[];
}

/**
 * Lower convex hull of the power curve sampled at 0 %, 10 %, …, 100 % (the SPECpower points the
 * model interpolates linearly between): the curve is never below it, and a convex curve lets
 * equal shares and a greedy fill by slope give the exact minimum of the relaxation.
 */
function envelope(model: PowerModel, capacity: number): { slopes: number[]; widths: number[] } {
  const xs = Array.from({ length: 11 }, (_, i) => i / 10);
  const ys = xs.map((x) => model.power(x));
  const hull: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    while (hull.length >= 2) {
      const a = hull[hull.length - 2]!;
      const b = hull[hull.length - 1]!;
      // Drop b when it lies on or above the chord from a to i.
      if ((ys[b]! - ys[a]!) * (xs[i]! - xs[a]!) >= (ys[i]! - ys[a]!) * (xs[b]! - xs[a]!)) hull.pop();
      else break;
    }
    hull.push(i);
  }
  const slopes: number[] = [];
  const widths: number[] = [];
  for (let s = 1; s < hull.length; s++) {
    const a = hull[s - 1]!;
    const b = hull[s]!;
    const width = (xs[b]! - xs[a]!) * capacity;
    widths.push(width);
    slopes.push((ys[b]! - ys[a]!) / width);
  }
  return { slopes, widths };
}

function hostClasses(exp: Experiment): HostClass[] {
  const byType = new Map<number, { count: number; capacity: number; model: PowerModel }>();
  for (let h = 0; h < exp.hostCount; h++) {
    const t = exp.hostType[h]!;
    const c = byType.get(t);
    if (c === undefined) byType.set(t, { count: 1, capacity: exp.hostMips[h]!, model: exp.hostPower[h]! });
    else c.count++;
  }
  return [...byType.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, c]) => ({ count: c.count, capacity: c.capacity, idleWatts: c.model.power(0), ...envelope(c.model, c.capacity) }));
}

/**
 * Minimum power (W) of any set of switched-on hosts whose capacity covers `demand` MIPS, with the
 * demand split freely between them (a relaxation: a VM cannot really be split) and each host's
 * power taken on its convex envelope. Every host count of every class is tried, so the answer
 * is the exact minimum of the relaxation whatever the power curves look like.
 */
function minimumPower(classes: readonly HostClass[], segments: ReadonlyArray<{ cls: number; slope: number; width: number }>, demand: number): number {
  if (demand <= 0) return 0;
  const counts = new Array<number>(classes.length).fill(0);
  let best = Number.POSITIVE_INFINITY;
  const fill = (): number => {
    let watts = 0;
    for (let j = 0; j < classes.length; j++) watts += counts[j]! * classes[j]!.idleWatts;
    let rest = demand;
    for (const s of segments) {
      const n = counts[s.cls]!;
      if (n === 0) continue;
      const take = Math.min(rest, n * s.width);
      watts += take * s.slope;
      rest -= take;
      if (rest <= 0) break;
    }
    return rest > 1e-9 * demand ? Number.POSITIVE_INFINITY : watts;
  };
  const visit = (j: number, capacity: number): void => {
    if (j === classes.length) {
      if (capacity >= demand) best = Math.min(best, fill());
      return;
    }
    const c = classes[j]!;
    // More hosts of a class than the whole demand needs only add idle power.
    const max = Math.min(c.count, Math.ceil(demand / c.capacity));
    for (let n = 0; n <= max; n++) {
      counts[j] = n;
      visit(j + 1, capacity + n * c.capacity);
    }
    counts[j] = 0;
  };
  visit(0, 0);
  return best;
}

/** Fewest hosts whose capacity covers `demand`, largest hosts first. */
function fewestHosts(classes: readonly HostClass[], demand: number): number {
  let rest = demand;
  let hosts = 0;
  for (const c of [...classes].sort((a, b) => b.capacity - a.capacity)) {
    if (rest <= 0) break;
    const n = Math.min(c.count, Math.ceil(rest / c.capacity));
    hosts += n;
    rest -= n * c.capacity;
  }
  return hosts;
}

/**
 * Total demand at every decision tick (MIPS): each VM's requested MIPS, capped at the largest
 * core (no host can give one vCPU more), VMs gone for good once their demand hits exactly 0 —
 * the simulator's rule, which does not depend on the policy.
 */
export function demandAtTicks(exp: Experiment): Float64Array {
  const out = new Float64Array(exp.ticks + 1);
  const alive = new Uint8Array(exp.vmCount).fill(1);
  let maxCore = 0;
  for (let h = 0; h < exp.hostCount; h++) maxCore = Math.max(maxCore, exp.hostCoreMips[h]!);
  let t = exp.attachTime;
  for (let k = 1; k <= exp.ticks; k++) {
    // Same time arithmetic as the simulator, so each tick reads the same interpolated sample.
    t = t + exp.interval;
    let d = 0;
    for (let v = 0; v < exp.vmCount; v++) {
      if (alive[v] === 0) continue;
      const r = utilizationAt(exp.workload.utilization[v]!, t, exp.interval) * exp.vmMips[v]!;
      if (r === 0) alive[v] = 0;
      d += r > maxCore ? maxCore : r;
    }
    out[k] = d;
  }
  return out;
}

/**
 * Energy lower bound of an experiment: between consecutive ticks, the minimum power that can
 * serve the smaller of the two tick demands (demand is linear, so concave once capped, between
 * ticks and power is monotone in demand, so no instant in between needs less), with no
 * migration and no SLA violation. It bounds every policy that serves the demand; a policy that
 * starves VMs (SLA violations) uses less CPU and could in principle dip under it by that much.
 */
export function energyLowerBound(exp: Experiment): EnergyLowerBound {
  const started = performance.now();
  const classes = hostClasses(exp);
  const segments = classes.flatMap((c, cls) => c.slopes.map((slope, i) => ({ cls, slope, width: c.widths[i]! }))).sort((a, b) => a.slope - b.slope);
  const demand = demandAtTicks(exp);
  // Demand beyond the whole fleet cannot be served by anyone: the bound then runs every host flat out.
  const fleetMips = classes.reduce((s, c) => s + c.count * c.capacity, 0);
  let joules = 0;
  let hostSeconds = 0;
  let hostSum = 0;
  let peakHosts = 0;
  const intervals = Math.max(0, exp.ticks - 1);
  let t = exp.attachTime + exp.interval;
  for (let k = 1; k < exp.ticks; k++) {
    const next = t + exp.interval;
    const dt = next - t;
    const d = Math.min(demand[k]!, demand[k + 1]!, fleetMips);
    joules += minimumPower(classes, segments, d) * dt;
    const n = fewestHosts(classes, d);
    hostSeconds += n * dt;
    hostSum += n;
    peakHosts = Math.max(peakHosts, n);
    t = next;
  }
  return {
    name: 'lower bound (no policy can beat)',
    energyKWh: joules / 3.6e6,
    activeHostHours: hostSeconds / 3600,
    meanHosts: intervals > 0 ? hostSum / intervals : 0,
    peakHosts,
    runtimeMs: performance.now() - started,
  };
}
