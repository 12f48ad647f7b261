import { applyShifts, ShiftCollector, type QuantileShifts } from './calibration.ts';
import { buildBatch, type Origin } from './features.ts';
import { ErrorSums } from './metrics.ts';
import { BASELINES, baselineForecasts, type BaselineName } from './point-baselines.ts';
import type { Protocol, SplitSeries } from './protocol.ts';
import { POOLED_GROUP } from './model.ts';
import type { ModelSpec } from './spec.ts';

/** A batched forward pass: n × featureCount inputs → n × outputs normalised quantiles. */
export type Predictor = (x: Float32Array, n: number) => Promise<Float32Array>;

/** Every forecaster an evaluation compares. */
export type MethodName = BaselineName | 'model';

/** Options of evaluateForecasts. */
export interface EvaluationOptions {
  spec: ModelSpec;
  protocol: Protocol;
  /** The trained network; without it only the baselines are evaluated. */
  predictor?: Predictor;
  /** At most this many calibration origins per series (evenly strided), to bound memory. */
  maxCalibrationOrigins?: number;
  /** Series forecast per batch. */
  chunkSeries?: number;
}

/** Error sums of one (series, method, horizon) cell. */
export interface Cell {
  seriesId: string;
  group: string;
  method: MethodName;
  horizon: number;
  /** MASE scale of the series (0: flat training part, left out of MASE and pinball means). */
  scale: number;
  sums: ErrorSums;
}

/** What an evaluation measured. */
export interface EvaluationResult {
  methods: MethodName[];
  /** Test cells (rolling origins over each series' test part, protocol.evalHorizons). */
  test: Cell[];
  /** Validation cells (calibration VMs, second half of their training part, every model horizon): what promotion looks at. */
  validation: Cell[];
  /** Conformal shifts per group and method (and the model's over all groups under POOLED_GROUP). */
  shifts: Map<string, Map<MethodName, QuantileShifts>>;
}

/** Uncalibrated quantile forecasts (data units) of one series: [origin][horizon][quantile], flattened. */
interface SeriesForecasts {
  split: SplitSeries;
  origins: Int32Array;
  byMethod: Map<MethodName, Float64Array>;
}

/**
 * Rolling-origin evaluation of the model (when given) and every baseline on the same origins:
 * conformal shifts per group from the calibration VMs' training part, then error sums on the
 * test part. Groups are processed one at a time, series in chunks, so memory stays bounded.
 */
export async function evaluateForecasts(splits: readonly SplitSeries[], opts: EvaluationOptions): Promise<EvaluationResult> {
  const methods: MethodName[] = [...BASELINES, ...(opts.predictor ? (['model'] as const) : [])];
  const groups = new Map<string, SplitSeries[]>();
  for (const s of splits) {
    const g = groups.get(s.idx.series.group) ?? [];
    g.push(s);
    groups.set(s.idx.series.group, g);
  }
  const result: EvaluationResult = { methods, test: [], validation: [], shifts: new Map() };
  // The model's shifts over every group together, served to series of groups it was not calibrated on.
  const pooled = new Map(methods.filter((m) => m === 'model').map((m) => [m, new ShiftCollector(opts.spec.horizons, opts.spec.quantiles)]));
  for (const [group, members] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const shifts = await calibrateGroup(members.filter((s) => s.calibration), methods, opts, result.validation, pooled);
    result.shifts.set(group, shifts);
    await testGroup(members, methods, shifts, opts, result.test);
  }
  result.shifts.set(POOLED_GROUP, new Map([...pooled].map(([m, c]) => [m, c.finish()])));
  return result;
}

function calibrationOrigins(s: SplitSeries, spec: ModelSpec, max: number): Int32Array {
  const first = spec.lags - 1;
  const last = s.testStart - 2;
  const stride = Math.max(1, Math.ceil((last - first + 1) / max));
  const out: number[] = [];
  for (let t = first; t <= last; t += stride) if (s.idx.windowComplete(t, spec.lags)) out.push(t);
  return Int32Array.from(out);
}

function testOrigins(s: SplitSeries, spec: ModelSpec, protocol: Protocol): Int32Array {
  const n = s.idx.series.values.length;
  const minH = Math.min(...protocol.evalHorizons);
  const out: number[] = [];
  for (let t = s.testStart - 1; t <= n - 1 - minH; t++) if (s.idx.windowComplete(t, spec.lags)) out.push(t);
  return Int32Array.from(out);
}

async function forecastChunk(chunk: readonly SplitSeries[], originsOf: (s: SplitSeries) => Int32Array, fitEndOf: (s: SplitSeries) => number, methods: readonly MethodName[], opts: EvaluationOptions): Promise<SeriesForecasts[]> {
  const { spec } = opts;
  const H = spec.horizons.length;
  const Q = spec.quantiles.length;
  const per: SeriesForecasts[] = chunk.map((split) => ({ split, origins: originsOf(split), byMethod: new Map() }));
  for (const sf of per) {
    const v = sf.split.idx.series.values;
    const lo = spec.lags - 1;
    const hi = v.length - 2;
    for (const m of methods) {
      if (m === 'model') continue;
      const point = baselineForecasts(m, v, fitEndOf(sf.split), lo, hi, spec.horizons, spec.season);
      const out = new Float64Array(sf.origins.length * H * Q);
      for (let i = 0; i < sf.origins.length; i++) {
        const t = sf.origins[i]!;
        for (let j = 0; j < H; j++) {
          const p = point[j]![t - lo]!;
          for (let k = 0; k < Q; k++) out[(i * H + j) * Q + k] = p;
        }
      }
      sf.byMethod.set(m, out);
    }
  }
  if (opts.predictor && methods.includes('model')) {
    const origins: Origin[] = per.flatMap((sf) => Array.from(sf.origins, (t) => ({ idx: sf.split.idx, t })));
    const { x, centre, scale } = buildBatch(spec, origins);
    const raw = await opts.predictor(x, origins.length);
    let row = 0;
    for (const sf of per) {
      const out = new Float64Array(sf.origins.length * H * Q);
      for (let i = 0; i < sf.origins.length; i++, row++) {
        for (let o = 0; o < H * Q; o++) out[i * H * Q + o] = centre[row]! + scale[row]! * raw[row * H * Q + o]!;
      }
      sf.byMethod.set('model', out);
    }
  }
  return per;
}

async function calibrateGroup(members: readonly SplitSeries[], methods: readonly MethodName[], opts: EvaluationOptions, validation: Cell[], pooled: Map<MethodName, ShiftCollector>): Promise<Map<MethodName, QuantileShifts>> {
  const { spec } = opts;
  const H = spec.horizons.length;
  const Q = spec.quantiles.length;
  const max = opts.maxCalibrationOrigins ?? 2000;
  const collectors = new Map(methods.map((m) => [m, new ShiftCollector(spec.horizons, spec.quantiles)]));
  const kept: SeriesForecasts[] = [];
  for (let c = 0; c < members.length; c += opts.chunkSeries ?? 400) {
    // Baselines fit their parameters on the first half of the training part here, so that the
    // validation half is out of sample for them as it is for the network (which never saw these VMs).
    const per = await forecastChunk(members.slice(c, c + (opts.chunkSeries ?? 400)), (s) => calibrationOrigins(s, spec, max), validationStart, methods, opts);
    for (const sf of per) {
      for (const m of methods) {
        const f = sf.byMethod.get(m)!;
        const col = collectors.get(m)!;
        const all = pooled.get(m);
        forEachTarget(sf, spec.horizons, sf.split.testStart - 1, (i, j, t, y) => {
          const p = f[(i * H + j) * Q]!;
          if (!Number.isFinite(p)) return;
          const s = sf.split.idx.scale(t, spec.context);
          for (let k = 0; k < Q; k++) {
            col.add(j, k, y, f[(i * H + j) * Q + k]!, s);
            all?.add(j, k, y, f[(i * H + j) * Q + k]!, s);
          }
        });
      }
      kept.push(sf);
    }
  }
  const shifts = new Map([...collectors].map(([m, c]) => [m, c.finish()]));
  // Validation metrics use the calibrated forecasts: that is what would be served.
  // Validation = the second half of the training part. Partial: seasonal naive is scored on
  // the origins that have a season of history behind them.
  for (const sf of kept) accumulate(sf, methods, shifts, spec, spec.horizons, sf.split.testStart - 1, validation, true, validationStart(sf.split) - 1);
  return shifts;
}

async function testGroup(members: readonly SplitSeries[], methods: readonly MethodName[], shifts: Map<MethodName, QuantileShifts>, opts: EvaluationOptions, test: Cell[]): Promise<void> {
  const { spec, protocol } = opts;
  for (let c = 0; c < members.length; c += opts.chunkSeries ?? 400) {
    const per = await forecastChunk(members.slice(c, c + (opts.chunkSeries ?? 400)), (s) => testOrigins(s, spec, protocol), (s) => s.testStart, methods, opts);
    for (const sf of per) accumulate(sf, methods, shifts, spec, protocol.evalHorizons, sf.split.idx.series.values.length - 1, test);
  }
}

/** Calls fn for every (origin, horizon) whose target lies at or before `lastTarget` and is observed. */
function forEachTarget(sf: SeriesForecasts, horizons: readonly number[], lastTarget: number, fn: (i: number, j: number, t: number, y: number) => void): void {
  const v = sf.split.idx.series.values;
  for (let i = 0; i < sf.origins.length; i++) {
    const t = sf.origins[i]!;
    for (let j = 0; j < horizons.length; j++) {
      const target = t + horizons[j]!;
      if (target > lastTarget) continue;
      const y = v[target]!;
      if (Number.isFinite(y)) fn(i, j, t, y);
    }
  }
}

/** First index of the validation half of a calibration VM's training part. */
function validationStart(s: SplitSeries): number {
  return Math.floor(s.testStart / 2);
}

function accumulate(sf: SeriesForecasts, methods: readonly MethodName[], shifts: Map<MethodName, QuantileShifts>, spec: ModelSpec, horizons: readonly number[], lastTarget: number, into: Cell[], partial = false, firstOrigin = 0): void {
  const H = spec.horizons.length;
  const Q = spec.quantiles.length;
  const series = sf.split.idx.series;
  const hIndex = horizons.map((h) => spec.horizons.indexOf(h));
  const q = new Float64Array(Q);
  for (const m of methods) {
    const f = sf.byMethod.get(m)!;
    const sh = shifts.get(m)!;
    const cells = horizons.map((h) => ({ seriesId: series.id, group: series.group, method: m, horizon: h, scale: sf.split.scale, sums: new ErrorSums(Q) }));
    let complete = true;
    for (let i = 0; i < sf.origins.length && complete; i++) {
      const t = sf.origins[i]!;
      if (t < firstOrigin) continue;
      for (let jj = 0; jj < horizons.length; jj++) {
        const target = t + horizons[jj]!;
        if (target > lastTarget) continue;
        const y = series.values[target]!;
        if (!Number.isFinite(y)) continue;
        const j = hIndex[jj]!;
        const base = (i * H + j) * Q;
        if (!Number.isFinite(f[base]!)) {
          if (partial) continue;
          // A method that cannot forecast some of this series' test origins is not scored on it at all.
          complete = false;
          break;
        }
        for (let k = 0; k < Q; k++) q[k] = f[base + k]!;
        applyShifts(q, sh.shift[j]!, sf.split.idx.scale(t, spec.context));
        cells[jj]!.sums.add(y, q[0]!, q, spec.quantiles);
      }
    }
    if (complete) for (const c of cells) if (c.sums.n > 0) into.push(c);
  }
}
