import { NovaError } from '../core/index.ts';
import { hostsByEfficiency } from './experiment.ts';
import { smoothedForecaster, type DemandForecast, type DemandForecaster } from './forecast.ts';
import { powerAwarePlacement } from './placement.ts';
import type { BacktestPolicy, Migration, TickView } from './policy.ts';

/** Tuning of the forecast-driven policy. */
export interface NovaPolicyOptions {
  /** Where per-VM demand forecasts come from (past samples only). */
  forecaster: DemandForecaster;
  /** Quantile of a host's next-interval demand that placements must keep under the target: z = 1.2816 is the 90th percentile. */
  z: number;
  /** Quantile that triggers relief when it exceeds capacity (0 = the median forecast); demand above capacity now always does. */
  reliefZ: number;
  /** A host may be filled until its predicted z-quantile reaches this fraction of its MIPS. */
  targetUtilization: number;
  /** Only hosts whose predicted z-quantile is below this fraction are emptied. */
  underloadUtilization: number;
  /** A host that received a VM is not emptied for this many ticks (lets placements settle, avoids ping-pong). */
  settleTicks: number;
  /** Cap on consolidation migrations per tick (overload relief is never capped); unlimited by default, because the first tick must undo CloudSim's 800-host spread. */
  maxConsolidationMoves: number;
  /** Measure a host's spread on the summed recent forecast errors of its VMs too, so VMs that peak together are not packed as if independent. */
  correlated: boolean;
  /** Place on the most energy-efficient class of host first (W per MIPS at full load), fullest first within it. */
  preferEfficient: boolean;
}

/**
 * Defaults. z, target, underload and settle are the values of the first version of this policy
 * (a small grid on the two days we hold), not re-fitted. Relief waits for an overload that is
 * more likely than not (median forecast above capacity) or already there: a host found short at
 * a tick is relieved within one migration time, so preventive moves on 5-minute noise cost more
 * SLA than they save.
 */
export const DEFAULT_NOVA_OPTIONS: Omit<NovaPolicyOptions, 'forecaster'> = Object.freeze({
  z: 1.2816,
  reliefZ: 0,
  targetUtilization: 0.95,
  underloadUtilization: 0.75,
  settleTicks: 3,
  maxConsolidationMoves: Number.POSITIVE_INFINITY,
  correlated: true,
  preferEfficient: true,
});

/** Fewest errors a host's own spread is measured from; below that only the independent sum counts. */
const MIN_ERRORS = 4;

/**
 * Working state of one tick: per host the forecast sums of its (tentative) VM list.
 * Σ level, Σ spread² and the summed recent forecast errors give the host's predicted quantile;
 * Σ claims tells whether the host would be oversubscribed right now.
 */
class Plan {
  readonly lists: number[][];
  readonly level: Float64Array;
  readonly variance: Float64Array;
  readonly claims: Float64Array;
  /** Summed recent one-step forecast errors of each host's VMs, `window` slots per host. */
  readonly errors: Float64Array;
  readonly window: number;
  readonly useErrors: boolean;
  readonly source: Uint8Array;
  readonly receiver: Uint8Array;
  readonly moves: Migration[] = [];
  readonly wattsPerMips: Float64Array;

  constructor(
    readonly view: TickView,
    readonly f: DemandForecast,
    readonly o: NovaPolicyOptions,
    readonly efficiencyOrder: readonly number[],
  ) {
    const exp = view.experiment;
    const H = exp.hostCount;
    this.window = f.window ?? 0;
    this.useErrors = o.correlated && f.errors !== undefined && (f.errorCount ?? 0) >= MIN_ERRORS;
    this.lists = [];
    this.level = new Float64Array(H);
    this.variance = new Float64Array(H);
    this.claims = new Float64Array(H);
    this.errors = new Float64Array(this.useErrors ? H * this.window : 0);
    this.source = new Uint8Array(H);
    this.receiver = new Uint8Array(H);
    this.wattsPerMips = Float64Array.from({ length: H }, (_, h) => exp.hostPower[h]!.maxWatts / exp.hostMips[h]!);
    for (let h = 0; h < H; h++) {
      const list = [...view.hostVms(h)];
      this.lists.push(list);
      for (const v of list) this.account(h, v, 1);
    }
  }

  private claim(h: number, v: number): number {
    const r = this.view.requestedMips[v]!;
    const core = this.view.experiment.hostCoreMips[h]!;
    return r > core ? core : r;
  }

  account(h: number, v: number, sign: 1 | -1): void {
    const s = this.f.spread[v]!;
    this.level[h] = this.level[h]! + sign * this.f.level[v]!;
    this.variance[h] = Math.max(0, this.variance[h]! + sign * s * s);
    this.claims[h] = this.claims[h]! + sign * this.claim(h, v);
    if (this.useErrors) {
      const W = this.window;
      const c = this.f.errors!;
      for (let i = 0; i < W; i++) this.errors[h * W + i] = this.errors[h * W + i]! + sign * c[v * W + i]!;
    }
  }

  /** Spread (MIPS) of host h's next-interval demand, with VM `extra` added when ≥ 0. */
  sigma(h: number, extra = -1): number {
    let variance = this.variance[h]!;
    if (extra >= 0) variance += this.f.spread[extra]! * this.f.spread[extra]!;
    if (this.useErrors) {
      const W = this.window;
      const n = Math.min(W, this.f.errorCount!);
      const c = this.f.errors!;
      let ss = 0;
      for (let i = 0; i < n; i++) {
        const d = this.errors[h * W + i]! + (extra >= 0 ? c[extra * W + i]! : 0);
        ss += d * d;
      }
      // Correlated VMs make the summed errors swing more than √Σ spread² says: take the larger.
      variance = Math.max(variance, ss / n);
    }
    return Math.sqrt(variance);
  }

  /** Predicted z-quantile of h's demand as a fraction of its MIPS, with VM `extra` added when ≥ 0. */
  quantile(h: number, z: number, extra = -1): number {
    const l = this.level[h]! + (extra >= 0 ? this.f.level[extra]! : 0);
    return (l + z * this.sigma(h, extra)) / this.view.experiment.hostMips[h]!;
  }

  /** VM v fits host h: its own quantile fits one core, the host is not oversubscribed now, and the host quantile stays under target. */
  fits(h: number, v: number): boolean {
    const exp = this.view.experiment;
    if (this.f.level[v]! + this.o.z * this.f.spread[v]! > exp.hostCoreMips[h]!) return false;
    if (this.claims[h]! + this.claim(h, v) > exp.hostMips[h]!) return false;
    return this.quantile(h, this.o.z, v) <= this.o.targetUtilization;
  }

  /** Host h must shed VMs: oversubscribed now, its relief quantile above capacity, or a VM outgrowing one core. */
  overloaded(h: number): boolean {
    const exp = this.view.experiment;
    if (this.claims[h]! > exp.hostMips[h]!) return true;
    if (this.quantile(h, this.o.reliefZ) > 1) return true;
    return this.lists[h]!.some((v) => this.tooBigFor(h, v));
  }

  tooBigFor(h: number, v: number): boolean {
    return this.f.level[v]! + this.o.reliefZ * this.f.spread[v]! > this.view.experiment.hostCoreMips[h]!;
  }

  isActive(h: number): boolean {
    return this.lists[h]!.length > 0;
  }

  /**
   * Best fit among active hosts (the fullest one that still fits, so the others can empty);
   * when none fits and `wake` is set, the first off host of the most efficient type.
   */
  target(v: number, exclude: number, wake: boolean): number {
    const exp = this.view.experiment;
    let best = -1;
    let bestFill = -1;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let h = 0; h < exp.hostCount; h++) {
      if (h === exclude || this.source[h] === 1 || !this.isActive(h) || !this.fits(h, v)) continue;
      const fill = this.quantile(h, this.o.z, v);
      const cost = this.o.preferEfficient ? this.wattsPerMips[h]! : 0;
      if (cost < bestCost || (cost === bestCost && fill > bestFill)) {
        bestCost = cost;
        bestFill = fill;
        best = h;
      }
    }
    if (best >= 0 || !wake) return best;
    for (const h of this.efficiencyOrder) {
      if (h !== exclude && this.source[h] !== 1 && !this.isActive(h) && this.fits(h, v)) return h;
    }
    return -1;
  }

  move(v: number, from: number, to: number, reason: string): void {
    const list = this.lists[from]!;
    list.splice(list.indexOf(v), 1);
    this.account(from, v, -1);
    this.lists[to]!.push(v);
    this.account(to, v, 1);
    this.receiver[to] = 1;
    this.moves.push({ vm: v, target: to, reason });
  }

  undo(count: number): void {
    for (let i = 0; i < count; i++) {
      const m = this.moves.pop()!;
      const list = this.lists[m.target]!;
      list.splice(list.lastIndexOf(m.vm), 1);
      this.account(m.target, m.vm, -1);
      this.lists[this.view.vmHost[m.vm]!]!.push(m.vm);
      this.account(this.view.vmHost[m.vm]!, m.vm, 1);
    }
  }
}

/**
 * NovaCron's forecast-driven consolidation: hosts are filled, most efficient class first, up to a
 * predicted high quantile of their next-interval demand, measured on the VMs' recent forecast
 * errors so that VMs peaking together count as such; a host is relieved only when it is short
 * now or its median forecast is (shedding the VMs that relieve most per second of migration), as
 * relief at the next tick is cheap while preventive moves on noise are not; clearly under-used
 * hosts that have not just received VMs are emptied, cheapest to empty first, all-or-nothing.
 */
export function novaPolicy(options: Partial<NovaPolicyOptions> = {}): BacktestPolicy {
  const o: NovaPolicyOptions = { ...DEFAULT_NOVA_OPTIONS, forecaster: options.forecaster ?? smoothedForecaster(), ...options };
  if (!(o.targetUtilization > 0 && o.targetUtilization <= 1 && o.underloadUtilization <= o.targetUtilization && o.reliefZ >= 0)) {
    throw new NovaError('BACKTEST_OPTION_INVALID', `nova policy needs 0 < underload ≤ target ≤ 1 and reliefZ ≥ 0, got underload ${o.underloadUtilization}, target ${o.targetUtilization}, z ${o.z}, reliefZ ${o.reliefZ}`);
  }
  let order: number[] = [];
  let lastReceived = new Int32Array(0);
  return {
    name: 'NovaCron FQ',
    energyModel: 'power-model',
    // Same start as the CloudSim migration policies, so the comparison is about the policy alone.
    placeInitial: (exp) => powerAwarePlacement(exp, 0.7),
    plan(view) {
      const exp = view.experiment;
      if (order.length !== exp.hostCount) {
        order = hostsByEfficiency(exp);
        lastReceived = new Int32Array(exp.hostCount).fill(-1_000_000);
      }
      const f = o.forecaster.forecast(view);
      const p = new Plan(view, f, o, order);
      const H = exp.hostCount;

      // 1. Relieve hosts that are short of CPU now or likely to be by the next tick.
      for (let h = 0; h < H; h++) {
        if (!p.isActive(h) || !p.overloaded(h)) continue;
        p.source[h] = 1;
        const list = p.lists[h]!;
        const chosen = list.filter((v) => p.tooBigFor(h, v));
        for (const v of chosen) p.account(h, v, -1);
        const candidates = list.filter((v) => !chosen.includes(v));
        while (p.quantile(h, o.z) > o.targetUtilization && candidates.length > 0) {
          // The VM that relieves most per second of migration (migration time ∝ RAM).
          let bi = 0;
          for (let i = 1; i < candidates.length; i++) {
            const a = candidates[i]!;
            const b = candidates[bi]!;
            if (f.level[a]! / exp.vmRamMb[a]! > f.level[b]! / exp.vmRamMb[b]!) bi = i;
          }
          const v = candidates.splice(bi, 1)[0]!;
          p.account(h, v, -1);
          chosen.push(v);
        }
        // Put the chosen VMs back in the books, then move each one that has somewhere to go.
        for (const v of chosen) p.account(h, v, 1);
        chosen.sort((a, b) => f.level[b]! - f.level[a]!);
        for (const v of chosen) {
          const t = p.target(v, h, true);
          if (t >= 0) p.move(v, h, t, 'overload');
        }
      }

      // 2. Empty clearly under-used hosts if all their VMs fit elsewhere, cheapest first: an
      //    emptied host saves about its idle power whatever it ran, but costs one migration
      //    (RAM / bandwidth seconds of SLA exposure) per VM.
      const candidates: number[] = [];
      const load = new Float64Array(H);
      const cost = new Float64Array(H);
      for (let h = 0; h < H; h++) {
        if (!p.isActive(h) || p.source[h] === 1 || p.receiver[h] === 1 || view.tick - lastReceived[h]! <= o.settleTicks) continue;
        load[h] = p.quantile(h, o.z);
        if (load[h]! > o.underloadUtilization) continue;
        for (const v of p.lists[h]!) cost[h] = cost[h]! + exp.vmRamMb[v]!;
        candidates.push(h);
      }
      candidates.sort((a, b) => cost[a]! - cost[b]! || load[a]! - load[b]! || a - b);
      let budget = o.maxConsolidationMoves;
      for (const h of candidates) {
        const vms = [...p.lists[h]!];
        if (p.receiver[h] === 1 || vms.length > budget) continue;
        p.source[h] = 1;
        vms.sort((a, b) => f.level[b]! - f.level[a]!);
        let placed = 0;
        for (const v of vms) {
          const t = p.target(v, h, false);
          if (t < 0) break;
          p.move(v, h, t, 'consolidation');
          placed++;
        }
        if (placed < vms.length) {
          p.undo(placed);
          p.source[h] = 0;
          continue;
        }
        budget -= placed;
      }
      for (const m of p.moves) lastReceived[m.target] = view.tick;
      return p.moves;
    },
  };
}
