import { selectBackend, type BackendChoice } from './backend.ts';
import { evaluateForecasts, type EvaluationResult } from './evaluate.ts';
import { forwardWith, type ForecastModel, type InferenceEngine } from './model.ts';
import { decidePromotion, type PromotionDecision } from './promotion.ts';
import { DEFAULT_PROTOCOL, splitSeries, type Protocol, type SplitSeries } from './protocol.ts';
import type { RegularSeries } from './series.ts';
import { DEFAULT_SPEC, featureCount, type ModelSpec } from './spec.ts';
import { DEFAULT_TRAIN_OPTIONS, trainMlp, type TrainOptions, type TrainResult, type TrainingSet } from './tf-train.ts';
import { buildTrainingSet, DEFAULT_TRAINING_SET, type TrainingSetOptions } from './training-set.ts';

/** Options of trainAndEvaluate; every field has a default. */
export interface PipelineOptions {
  spec?: ModelSpec;
  protocol?: Protocol;
  trainingSet?: TrainingSetOptions;
  train?: TrainOptions;
  /** Force an inference engine instead of measuring which is faster. */
  engine?: InferenceEngine;
  log?: (line: string) => void;
}

/** Timing of each inference engine on the same batch (ms), and the one chosen. */
export interface EngineChoice {
  engine: InferenceEngine;
  rows: number;
  ms: Record<InferenceEngine, number | undefined>;
}

/** Everything one training run produced. */
export interface PipelineResult {
  model: ForecastModel;
  backend: BackendChoice;
  engine: EngineChoice;
  training: TrainResult & { series: number; perGroup: Record<string, number> };
  evaluation: EvaluationResult;
  decision: PromotionDecision;
  splits: SplitSeries[];
  tooShort: RegularSeries[];
  /** Training data range (ms since epoch) of series with absolute time. */
  dataFrom?: number;
  dataUntil?: number;
}

/**
 * Trains the global quantile network on the training VMs' history, calibrates it and every
 * baseline on the held-out VMs, evaluates all of them on the test part, and decides promotion
 * from the validation data. Pure of I/O apart from timing: the caller registers the result.
 */
export async function trainAndEvaluate(series: readonly RegularSeries[], opts: PipelineOptions = {}): Promise<PipelineResult> {
  const spec = opts.spec ?? DEFAULT_SPEC;
  const protocol = opts.protocol ?? DEFAULT_PROTOCOL;
  const log = opts.log ?? (() => undefined);
  const { splits, tooShort } = splitSeries(series, protocol);
  const trainingSplits = splits.filter((s) => !s.calibration);
  const set = buildTrainingSet(spec, trainingSplits, opts.trainingSet ?? DEFAULT_TRAINING_SET);
  log(`training set: ${set.n} examples from ${trainingSplits.length} series (${[...set.perGroup].map(([g, n]) => `${g} ${n}`).join(', ')})`);

  const probeSet = slice(set, spec, 4096);
  const trainOpts = opts.train ?? DEFAULT_TRAIN_OPTIONS;
  // The probe is the real workload: a short training run of this network on real rows.
  const backend = await selectBackend(async () => {
    await trainMlp(spec, probeSet, { ...trainOpts, epochs: 1 });
  });
  log(`backend: ${backend.backend} (${backend.trials.map((t) => `${t.backend} ${t.ok ? `${t.ms!.toFixed(0)} ms/probe` : 'unavailable'}`).join(', ')})`);
  const trained = await trainMlp(spec, set, { ...trainOpts, onEpoch: (e, l) => log(`epoch ${e + 1}/${trainOpts.epochs}: pinball ${l.toFixed(4)}`) });

  const engine = opts.engine ? { engine: opts.engine, rows: 0, ms: { tfjs: undefined, js: undefined } } : await chooseEngine(trained, slice(set, spec, 20_000));
  log(`inference engine: ${engine.engine} (${Object.entries(engine.ms).map(([k, v]) => `${k} ${v?.toFixed(0) ?? '-'} ms`).join(', ')} for ${engine.rows} rows)`);
  const evaluation = await evaluateForecasts(splits, { spec, protocol, predictor: (x, n) => forwardWith(engine.engine, trained.weights, x, n) });
  const decision = decidePromotion(evaluation.validation);
  const shifts = Object.fromEntries([...evaluation.shifts].map(([g, byMethod]) => [g, byMethod.get('model')!]));

  const absolute = trainingSplits.filter((s) => s.idx.series.absoluteTime);
  // A reduce, not Math.min(...): a fleet can outgrow the argument limit of a spread call.
  const range = absolute.length === 0 ? {} : {
    dataFrom: absolute.reduce((m, s) => Math.min(m, s.idx.series.startSec), Infinity) * 1000,
    dataUntil: absolute.reduce((m, s) => Math.max(m, s.idx.series.startSec + s.testStart * spec.stepSec), -Infinity) * 1000,
  };
  return {
    model: { spec, weights: trained.weights, shifts },
    backend,
    engine,
    training: { ...trained, series: trainingSplits.length, perGroup: Object.fromEntries(set.perGroup) },
    evaluation,
    decision,
    splits,
    tooShort,
    ...range,
  };
}

function slice(set: TrainingSet, spec: ModelSpec, rows: number): TrainingSet {
  const n = Math.min(rows, set.n);
  const f = featureCount(spec);
  return { x: set.x.subarray(0, n * f), y: set.y.subarray(0, n * spec.horizons.length), n };
}

/** Times both engines on the same rows (after a warm-up) and picks the faster. */
export async function chooseEngine(trained: TrainResult, rows: TrainingSet): Promise<EngineChoice> {
  const ms: Record<InferenceEngine, number | undefined> = { tfjs: undefined, js: undefined };
  for (const engine of ['tfjs', 'js'] as const) {
    try {
      await forwardWith(engine, trained.weights, rows.x, rows.n);
      const t0 = performance.now();
      await forwardWith(engine, trained.weights, rows.x, rows.n);
      ms[engine] = performance.now() - t0;
    } catch {
      // An engine that fails here (e.g. no TF.js backend) is simply not chosen.
      ms[engine] = undefined;
    }
  }
  const engine: InferenceEngine = ms.tfjs !== undefined && (ms.js === undefined || ms.tfjs < ms.js) ? 'tfjs' : 'js';
  return { engine, rows: rows.n, ms };
}
