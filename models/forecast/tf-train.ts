import type * as TF from '@tensorflow/tfjs';
import { NovaError } from '../../core/index.ts';
import { initMlp, type MlpWeights } from './mlp.ts';
import { mulberry32 } from './random.ts';
import { featureCount, type ModelSpec } from './spec.ts';
import { loadTf } from './tf-loader.ts';

type Tf = typeof TF;

/** Training examples: n rows of normalised features (n × featureCount) and targets (n × horizons). */
export interface TrainingSet {
  x: Float32Array;
  y: Float32Array;
  n: number;
}

/** Options of trainMlp. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Called after each epoch with its mean training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

/** Defaults sized for a 2-core machine: a few hundred thousand examples train in about a minute. */
export const DEFAULT_TRAIN_OPTIONS: Readonly<TrainOptions> = Object.freeze({ epochs: 8, batchSize: 1024, learningRate: 3e-3, seed: 1 });

/** A trained network and how training went. */
export interface TrainResult {
  weights: MlpWeights;
  backend: string;
  epochs: number;
  examples: number;
  ms: number;
  lossByEpoch: number[];
}

interface Vars {
  hidden: Array<{ w: TF.Variable; b: TF.Variable }>;
  out: { w: TF.Variable; b: TF.Variable };
  skip: TF.Variable;
}

// A variable shares its initial tensor's data, so dropping the tensor handle frees nothing twice.
function mkVar(tf: Tf, t: TF.Tensor): TF.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

function toVars(tf: Tf, w: MlpWeights): Vars {
  const outN = w.output.outputs;
  return {
    hidden: w.hidden.map((l) => ({ w: mkVar(tf, tf.tensor2d(l.w, [l.inputs, l.outputs])), b: mkVar(tf, tf.tensor1d(l.b)) })),
    out: { w: mkVar(tf, tf.tensor2d(w.output.w, [w.output.inputs, outN])), b: mkVar(tf, tf.tensor1d(w.output.b)) },
    skip: mkVar(tf, tf.tensor2d(w.skip, [w.skip.length / outN, outN])),
  };
}

function varList(v: Vars): TF.Variable[] {
  return [...v.hidden.flatMap((l) => [l.w, l.b]), v.out.w, v.out.b, v.skip];
}

/** Quantile forecasts in normalised units, shape [batch, horizons, quantiles] (see mlp.ts for the form). */
function forward(tf: Tf, v: Vars, x: TF.Tensor2D, horizons: number, quantiles: number, cumulate: TF.Tensor2D): TF.Tensor3D {
  let h: TF.Tensor2D = x;
  for (const l of v.hidden) h = tf.relu(tf.add(tf.matMul(h, l.w), l.b)) as TF.Tensor2D;
  const raw = tf.add(tf.add(tf.matMul(h, v.out.w), v.out.b), tf.matMul(x, v.skip)) as TF.Tensor2D;
  const grouped = tf.reshape(raw, [-1, quantiles]);
  const first = tf.slice(grouped, [0, 0], [-1, 1]);
  const gaps = tf.softplus(tf.slice(grouped, [0, 1], [-1, quantiles - 1]));
  // A cumulative sum as one matmul with an upper-triangular ones matrix: every backend has matMul.
  const q = tf.matMul(tf.concat([first, gaps], 1), cumulate);
  return tf.reshape(q, [-1, horizons, quantiles]);
}

/** Mean pinball loss over examples, horizons and quantile levels. */
function pinballLoss(tf: Tf, q: TF.Tensor3D, y: TF.Tensor2D, taus: TF.Tensor3D): TF.Scalar {
  const d = tf.sub(tf.expandDims(y, 2), q);
  return tf.mean(tf.maximum(tf.mul(taus, d), tf.mul(tf.sub(taus, 1), d)));
}

/**
 * Trains the quantile MLP with TF.js on the active backend: pinball loss, Adam with a cosine
 * learning-rate decay, seeded initialisation and shuffling (same data + seed + backend →
 * same weights).
 */
export async function trainMlp(spec: ModelSpec, data: TrainingSet, opts: TrainOptions = DEFAULT_TRAIN_OPTIONS): Promise<TrainResult> {
  const f = featureCount(spec);
  const H = spec.horizons.length;
  const Q = spec.quantiles.length;
  if (data.n === 0) throw new NovaError('FORECAST_NO_TRAINING_DATA', 'no training examples: the series are too short or all windows have gaps; supply longer history');
  if (data.x.length !== data.n * f || data.y.length !== data.n * H) {
    throw new NovaError('MODELS_INVALID_ARGUMENT', `training set shape mismatch: ${data.n} rows need ${data.n * f} features and ${data.n * H} targets`);
  }
  const tf = await loadTf();
  const t0 = performance.now();
  const init = initMlp(f, spec.hidden, H, Q, spec.lags - 1, opts.seed);
  const vars = toVars(tf, init);
  const list = varList(vars);
  const cumulate = tf.tensor2d(Array.from({ length: Q * Q }, (_, i) => (Math.floor(i / Q) <= i % Q ? 1 : 0)), [Q, Q]);
  const taus = tf.tensor3d(spec.quantiles, [1, 1, Q]);
  const m = list.map((v) => tf.variable(tf.zerosLike(v)));
  const s = list.map((v) => tf.variable(tf.zerosLike(v)));
  const b1 = 0.9;
  const b2 = 0.999;
  const eps = 1e-7;

  const rand = mulberry32(opts.seed ^ 0x9e3779b9);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const batch = Math.min(opts.batchSize, data.n);
  const stepsPerEpoch = Math.ceil(data.n / batch);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const xb = new Float32Array(batch * f);
  const yb = new Float32Array(batch * H);
  const lossByEpoch: number[] = [];
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let lossSum = 0;
    for (let start = 0; start < data.n; start += batch) {
      const rows = Math.min(batch, data.n - start);
      for (let r = 0; r < rows; r++) {
        const src = order[start + r]!;
        xb.set(data.x.subarray(src * f, (src + 1) * f), r * f);
        yb.set(data.y.subarray(src * H, (src + 1) * H), r * H);
      }
      step++;
      // Cosine decay to 5 % of the initial rate: large steps early, fine ones at the end.
      const lr = opts.learningRate * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / totalSteps)));
      const lrT = (lr * Math.sqrt(1 - Math.pow(b2, step))) / (1 - Math.pow(b1, step));
      const loss = tf.tidy(() => {
        const x = tf.tensor2d(xb.subarray(0, rows * f), [rows, f]);
        const y = tf.tensor2d(yb.subarray(0, rows * H), [rows, H]);
        const { value, grads } = tf.variableGrads(() => pinballLoss(tf, forward(tf, vars, x, H, Q, cumulate), y, taus), list);
        list.forEach((v, k) => {
          const g = grads[v.name]!;
          m[k]!.assign(tf.add(tf.mul(m[k]!, b1), tf.mul(g, 1 - b1)));
          s[k]!.assign(tf.add(tf.mul(s[k]!, b2), tf.mul(tf.square(g), 1 - b2)));
          v.assign(tf.sub(v, tf.mul(tf.div(m[k]!, tf.add(tf.sqrt(s[k]!), eps)), lrT)));
        });
        return value;
      });
      lossSum += (await loss.data())[0]! * rows;
      loss.dispose();
    }
    lossByEpoch.push(lossSum / data.n);
    opts.onEpoch?.(epoch, lossSum / data.n);
  }

  const read = async (v: TF.Variable) => new Float32Array(await v.data());
  const weights: MlpWeights = {
    hidden: await Promise.all(init.hidden.map(async (l, k) => ({ inputs: l.inputs, outputs: l.outputs, w: await read(vars.hidden[k]!.w), b: await read(vars.hidden[k]!.b) }))),
    output: { inputs: init.output.inputs, outputs: init.output.outputs, w: await read(vars.out.w), b: await read(vars.out.b) },
    skip: await read(vars.skip),
    quantileCount: Q,
  };
  tf.dispose([...list, ...m, ...s, cumulate, taus]);
  return { weights, backend: tf.getBackend(), epochs: opts.epochs, examples: data.n, ms: performance.now() - t0, lossByEpoch };
}

/**
 * TF.js forward pass over a batch (the same maths as mlpForward), on the active backend,
 * in chunks so memory stays bounded; returns n × outputs normalised quantiles.
 */
export async function tfForward(weights: MlpWeights, x: Float32Array, n: number, chunk = 65_536): Promise<Float32Array> {
  const f = weights.hidden[0]?.inputs ?? weights.output.inputs;
  const Q = weights.quantileCount;
  const outN = weights.output.outputs;
  const out = new Float32Array(n * outN);
  const tf = await loadTf();
  const vars = toVars(tf, weights);
  const cumulate = tf.tensor2d(Array.from({ length: Q * Q }, (_, i) => (Math.floor(i / Q) <= i % Q ? 1 : 0)), [Q, Q]);
  try {
    for (let start = 0; start < n; start += chunk) {
      const rows = Math.min(chunk, n - start);
      const q = tf.tidy(() => forward(tf, vars, tf.tensor2d(x.subarray(start * f, (start + rows) * f), [rows, f]), outN / Q, Q, cumulate));
      out.set(await q.data(), start * outN);
      q.dispose();
    }
  } finally {
    tf.dispose([...varList(vars), cumulate]);
  }
  return out;
}
