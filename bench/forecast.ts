/**
 * Forecasting benchmark: the TF.js quantile network against seasonal naive, EWMA, Holt-Winters
 * and the last value, on real VM traces, in one run; then training and inference speed.
 *
 *   npm run bench:forecast -- [--traces DIR] [--machines] [--register NAME] [--skip-speed]
 *
 * DIR defaults to <dataDir>/traces (NOVACRON_DATA, ../shared/data). Every sub-folder in a known
 * format is read (by name: planetlab*, bitbrains*, azure*, alibaba*; else by content):
 *   PlanetLab  <day YYYYMMDD>/<vm file>: 288 CPU % values per day          → group planetlab/cpu
 *   Bitbrains  [<month>/]<n>.csv: CPU usage [%] and Memory usage [KB]      → bitbrains/cpu, bitbrains/mem
 *   Azure V1   microsoft_{avg,max}_*.csv, one column per VM                 → azure/cpu-avg, azure/cpu-max
 * One series = one (VM, metric) on a 5-minute grid. Timestamped traces are averaged into
 * 300-s bins; a single missing step between two samples is interpolated, longer gaps stay
 * missing. Machine-level traces (Alibaba) are evaluated only with --machines and never pooled.
 *
 * Rolling-origin protocol (models/forecast/protocol.ts):
 * 1. Split in time. A series of N ≥ 288 steps has training part [0, T0) and test part [T0, N),
 *    T0 = N − max(⌈0.2·N⌉, 144). Nothing is fitted on the test part.
 * 2. Split by VM. Per trace kind, the ⌈25 %⌉ of VMs with the smallest seeded hash of their name
 *    are calibration VMs (all metrics of a VM on the same side). The network trains on the other
 *    VMs' training parts only (≤ 60,000 sampled origins per group). The calibration VMs'
 *    training parts give (a) split-conformal shifts per group, horizon and level 0.9 / 0.99 for
 *    every method alike (shift = ⌈(n+1)τ⌉-th smallest (y − q̂)/s, s = local scale at the origin;
 *    the median is not shifted), and (b) on the second half of that training part, the
 *    validation scores of the promotion rule (there the baselines fit their parameters on the
 *    first half only, so validation is out of sample for every method).
 * 3. Baselines are fitted per series on its training part (EWMA α and Holt-Winters α, β, γ, φ
 *    by grid search; Holt-Winters is seasonal with a 1-day period when the training part holds
 *    two days, else Holt's damped trend) and then run forward over the test part without refit.
 *    Seasonal naive = the value one day (288 steps) before the target; it is not defined where
 *    there is no day of history (PlanetLab's single days).
 * 4. Origins. For each series and horizon h ∈ {12 steps = 1 h, 72 steps = 6 h}: every origin
 *    t ∈ [T0 − 1, N − 1 − h] with a complete 24-step lag window and an observed target y[t + h].
 *    Every method forecasts y[t + h] from y[0..t]; all methods are scored on the same points.
 * 5. Metrics per (series, method, h). MASE = mean |y − p50| / scale, where scale = in-sample MAE
 *    of the ONE-STEP naive over [0, T0) for every series and horizon (Hyndman & Koehler 2006;
 *    series with scale 0 have no MASE and are left out of MASE and pinball). sMAPE = mean
 *    200·|y − p50| / (|y| + |p50|), 0 when both are 0. Pinball = mean over p50, p90, p99 of the
 *    mean pinball loss, / scale. Coverage of pτ = share of points with y ≤ pτ.
 * 6. Pooling. MASE, sMAPE and pinball: mean over (series, h) cells, each cell weighing the same;
 *    coverage: over all points. Naive reference of a (group, h): the last value, or the seasonal
 *    naive when it forecasts every series of the group and has the lower MASE there.
 *    Last line: mase_ratio = Σ model MASE / Σ reference MASE over the same cells of every per-VM
 *    group at both horizons (goal ≤ 0.8); p90/p99 coverage over all those points (goal ±0.03).
 *
 * Speed (skip with --skip-speed): training on 1,000 training series with the same options, and
 * forecasting 100,000 VMs (each a 300-step window of a real series) from raw history to
 * calibrated quantiles, with each inference engine; the TF.js backend is the one measured fastest.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { NovaError, createPgPool, describeError, loadConfig, migrate } from '../core/index.ts';
import {
  DEFAULT_TRAINING_SET,
  DEFAULT_TRAIN_OPTIONS,
  FORECAST_REGISTRY_MIGRATIONS,
  buildTrainingSet,
  forecastBatch,
  naiveReference,
  pool as poolCells,
  readTraceFolder,
  registerModelVersion,
  versionOf,
  summarise,
  trainAndEvaluate,
  trainMlp,
  type Cell,
  type MethodName,
  type PipelineResult,
  type RegularSeries,
  type SummaryRow,
} from '../models/forecast/index.ts';
import { discoverTraceFolders } from '../traces/index.ts';

const { values: args } = parseArgs({
  options: {
    traces: { type: 'string' },
    machines: { type: 'boolean', default: false },
    register: { type: 'string' },
    'skip-speed': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const say = (line: string) => console.log(line);

async function main(): Promise<void> {
  const config = loadConfig();
  const dir = args.traces ?? join(config.dataDir, 'traces');
  const folders = discoverTraceFolders(dir);
  const series: RegularSeries[] = [];
  const pooledGroups = new Set<string>();
  say(`# forecast bench: traces ${dir}`);
  for (const f of folders) {
    if (!f.kind) {
      say(`  ${f.name}: skipped (no known per-VM trace format)`);
      continue;
    }
    if (!f.perVm && !args.machines) {
      say(`  ${f.name}: skipped (${f.kind}: machine-level, not VMs; --machines to include, unpooled)`);
      continue;
    }
    const read = readTraceFolder(f);
    series.push(...read);
    if (f.perVm) for (const s of read) pooledGroups.add(s.group);
    say(`  ${f.name}: ${f.kind}, ${read.length} series${f.perVm ? '' : ' (not pooled)'}`);
  }
  if (series.length === 0) throw new NovaError('FORECAST_NO_TRACES', `no trace folder in a known format under ${dir}; see docs/data.md for the layout`);

  const result = await trainAndEvaluate(series, { log: (l) => say(`  [${elapsed()}] ${l}`) });
  say(`  [${elapsed()}] evaluated ${result.splits.length} series (${result.tooShort.length} shorter than a day skipped: ${result.tooShort.map((s) => s.id).slice(0, 5).join(', ')}${result.tooShort.length > 5 ? ', …' : ''})`);

  const rows = summarise(result.evaluation.test);
  const reference = naiveReference(rows);
  printTable(rows, reference);
  printGroupComparison(result.evaluation.test, rows, reference);
  printValidation(result);

  if (args.register) await register(args.register, result, config.databaseUrl);
  if (!args['skip-speed']) await speed(result);

  const pooled = poolCells(result.evaluation.test, 'model', reference, pooledGroups);
  say(`# pooled over ${[...pooledGroups].sort().join(', ')}: ${pooled.cells} (series, horizon) cells, ${pooled.points} points; model MASE ${f3(pooled.methodMase)} vs naive reference ${f3(pooled.referenceMase)}`);
  say(`# backend ${result.backend.backend}, inference ${result.engine.engine}, wall time ${elapsed()}`);
  say(`forecast mase_ratio=${f3(pooled.maseRatio)} p90_coverage=${f3(pooled.coverage[1]!)} p99_coverage=${f3(pooled.coverage[2]!)}`);
}

function f3(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : 'n/a';
}

function pct(x: number): string {
  return Number.isFinite(x) ? (100 * x).toFixed(1) : 'n/a';
}

function printTable(rows: readonly SummaryRow[], reference: Map<string, MethodName>): void {
  say('');
  say('## test part, rolling origins (MASE and pinball scaled by the in-sample one-step naive MAE; coverage in %)');
  const header = ['group', 'method', 'h', 'series', 'points', 'MASE', 'sMAPE%', 'pinball', 'cov50', 'cov90', 'cov99', 'MASE/ref'];
  const lines: string[][] = [];
  const sorted = [...rows].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.horizon - b.horizon));
  for (const r of sorted) {
    const refMethod = reference.get(`${r.group}|${r.horizon}`);
    const ref = rows.find((x) => x.group === r.group && x.horizon === r.horizon && x.method === refMethod);
    lines.push([
      r.group, r.method + (r.method === refMethod ? '*' : ''), `${r.horizon / 12}h`, String(r.series), String(r.points),
      f3(r.mase), r.smape.toFixed(1), f3(r.pinball), pct(r.coverage[0]!), pct(r.coverage[1]!), pct(r.coverage[2]!),
      ref ? f3(r.mase / ref.mase) : 'n/a',
    ]);
  }
  printColumns(header, lines);
  say('  * = naive reference of that group and horizon');
}

function printColumns(header: string[], lines: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => '  ' + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  say(fmt(header));
  for (const l of lines) say(fmt(l));
}

function printGroupComparison(cells: readonly Cell[], rows: readonly SummaryRow[], reference: Map<string, MethodName>): void {
  say('');
  say('## per group, both horizons pooled: MASE ratio to the naive reference (lower is better), coverage of p90 / p99');
  const groups = [...new Set(rows.map((r) => r.group))].sort();
  const methods = [...new Set(rows.map((r) => r.method))];
  const header = ['group', ...methods.map((m) => `${m}`), 'model cov90', 'model cov99'];
  const lines = groups.map((g) => {
    const gs = new Set([g]);
    const model = poolCells(cells, 'model', reference, gs);
    return [g, ...methods.map((m) => f3(poolCells(cells, m, reference, gs).maseRatio)), pct(model.coverage[1]!), pct(model.coverage[2]!)];
  });
  printColumns(header, lines);
}

function printValidation(result: PipelineResult): void {
  const d = result.decision;
  say('');
  say('## validation (calibration VMs, second half of their training part, all model horizons) and promotion');
  for (const c of d.comparisons) {
    say(`  model vs ${c.baseline.method.padEnd(14)} pinball ${f3(c.model.pinball)} vs ${f3(c.baseline.pinball)}   MASE ${f3(c.model.mase)} vs ${f3(c.baseline.mase)}   (${c.baseline.cells} cells)`);
  }
  say(`  decision: ${d.status} — ${d.reason}`);
}

async function register(name: string, result: PipelineResult, databaseUrl: string): Promise<void> {
  const pg = createPgPool(databaseUrl);
  try {
    await migrate(pg, FORECAST_REGISTRY_MIGRATIONS);
    const v = await registerModelVersion(pg, versionOf(name, result, { source: 'traces' }, { test: summarise(result.evaluation.test) }));
    say(`  registered ${v.name} v${v.version}: ${v.status}`);
  } finally {
    await pg.end();
  }
}

async function speed(result: PipelineResult): Promise<void> {
  say('');
  say('## speed (2-core machine)');
  const b = result.backend;
  say(`  TF.js backend: ${b.backend} — ${b.trials.map((t) => `${t.backend}: ${t.ok ? `${t.ms!.toFixed(0)} ms per training probe` : `unavailable (${t.error})`}`).join('; ')}`);
  const spec = result.model.spec;

  // Training on 1,000 series: the training VMs' series, spread over groups round-robin.
  const training = result.splits.filter((s) => !s.calibration);
  const byGroup = new Map<string, typeof training>();
  for (const s of training) byGroup.set(s.idx.series.group, [...(byGroup.get(s.idx.series.group) ?? []), s]);
  const chosen: typeof training = [];
  for (let i = 0; chosen.length < 1000 && chosen.length < training.length; i++) {
    for (const list of byGroup.values()) if (list[i] && chosen.length < 1000) chosen.push(list[i]!);
  }
  const t0 = performance.now();
  const set = buildTrainingSet(spec, chosen, DEFAULT_TRAINING_SET);
  const trained = await trainMlp(spec, set, DEFAULT_TRAIN_OPTIONS);
  const trainMs = performance.now() - t0;
  say(`  train: ${chosen.length} series → ${set.n} examples × ${trained.epochs} epochs in ${(trainMs / 1000).toFixed(1)} s (features ${((trainMs - trained.ms) / 1000).toFixed(1)} s + TF.js ${(trained.ms / 1000).toFixed(1)} s on ${trained.backend})`);

  // 100,000 VMs: 300-step windows (a day + a margin: the seasonal inputs reach back 289 steps)
  // cut from the evaluated series at spread-out offsets.
  const fleet: RegularSeries[] = [];
  const L = 300;
  const pool = result.splits.filter((s) => s.idx.series.values.length >= L);
  for (let i = 0; fleet.length < 100_000 && pool.length > 0; i++) {
    const s = pool[i % pool.length]!.idx.series;
    const span = s.values.length - L;
    const off = span === 0 ? 0 : (Math.imul(i, 2654435761) >>> 0) % (span + 1);
    fleet.push({ ...s, id: `vm-${i}`, values: s.values.slice(off, off + L) });
  }
  for (const engine of ['tfjs', 'js'] as const) {
    const t1 = performance.now();
    const { forecasts, skipped } = await forecastBatch(result.model, fleet, engine);
    const ms = performance.now() - t1;
    say(`  infer: ${fleet.length} VMs (${forecasts.length} forecast, ${skipped.length} with gaps in their lag window) in ${(ms / 1000).toFixed(2)} s with ${engine === 'tfjs' ? `TF.js (${result.backend.backend})` : 'plain Float32Array math'}${engine === result.engine.engine ? ' [chosen]' : ''} (goal < 10 s)`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench:forecast failed: ${describeError(err)}`);
  process.exitCode = 1;
});
