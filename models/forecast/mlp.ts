import { NovaError } from '../../core/index.ts';
import { mulberry32 } from './random.ts';

/** One dense layer, weights row-major (inputs × outputs). */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  w: Float32Array;
  b: Float32Array;
}

/**
 * Weights of the forecaster: ReLU hidden layers, a linear output layer, plus a linear skip
 * from the inputs to the outputs (so "repeat the last value" is one weight away).
 * Outputs are grouped per horizon: [raw q1, raw gap 2, raw gap 3, …] (see quantileTransform).
 */
export interface MlpWeights {
  hidden: DenseLayer[];
  output: DenseLayer;
  skip: Float32Array;
  /** Quantiles per horizon: outputs are horizon-major groups of this size. */
  quantileCount: number;
}

function glorot(inputs: number, outputs: number, rand: () => number): Float32Array {
  const limit = Math.sqrt(6 / (inputs + outputs));
  return Float32Array.from({ length: inputs * outputs }, () => (rand() * 2 - 1) * limit);
}

/**
 * Seeded initial weights. The skip starts as "median = the last lag" for every horizon, so
 * training starts at the naive forecast and learns corrections to it.
 */
export function initMlp(inputs: number, hidden: readonly number[], horizons: number, quantileCount: number, lastLagIndex: number, seed: number): MlpWeights {
  const rand = mulberry32(seed);
  const layers: DenseLayer[] = [];
  let fanIn = inputs;
  for (const units of hidden) {
    layers.push({ inputs: fanIn, outputs: units, w: glorot(fanIn, units, rand), b: new Float32Array(units) });
    fanIn = units;
  }
  const outputs = horizons * quantileCount;
  const output = { inputs: fanIn, outputs, w: glorot(fanIn, outputs, rand), b: new Float32Array(outputs) };
  // Gaps start near softplus(0.5) ≈ 1 local scale apart.
  for (let j = 0; j < outputs; j++) if (j % quantileCount !== 0) output.b[j] = 0.5;
  const skip = new Float32Array(inputs * outputs);
  for (let hq = 0; hq < outputs; hq += quantileCount) skip[lastLagIndex * outputs + hq] = 1;
  return { hidden: layers, output, skip, quantileCount };
}

/** softplus(x) = ln(1 + eˣ), computed without overflow. */
export function softplus(x: number): number {
  return x > 20 ? x : x < -20 ? Math.exp(x) : Math.log1p(Math.exp(x));
}

/**
 * Raw outputs → quantiles, in place: per horizon q₁ = raw₁, q_k = q_{k−1} + softplus(raw_k),
 * so quantiles never cross.
 */
export function quantileTransform(out: Float32Array, quantileCount: number): Float32Array {
  for (let i = 0; i < out.length; i += quantileCount) {
    for (let k = 1; k < quantileCount; k++) out[i + k] = out[i + k - 1]! + softplus(out[i + k]!);
  }
  return out;
}

/**
 * Forward pass over a batch (x row-major, n × inputs) in plain Float32Array arithmetic:
 * returns n × outputs quantiles in normalised units. Loops are ordered so the inner one
 * walks memory contiguously.
 */
export function mlpForward(weights: MlpWeights, x: Float32Array, n: number): Float32Array {
  const inputs = weights.hidden[0]?.inputs ?? weights.output.inputs;
  if (x.length !== n * inputs) throw new NovaError('MODELS_INVALID_ARGUMENT', `mlpForward: expected ${n}×${inputs} inputs, got ${x.length} values`);
  const widest = Math.max(...weights.hidden.map((l) => l.outputs), 1);
  let a = new Float32Array(widest);
  let b = new Float32Array(widest);
  const outN = weights.output.outputs;
  const out = new Float32Array(n * outN);
  for (let r = 0; r < n; r++) {
    const xr = x.subarray(r * inputs, (r + 1) * inputs);
    let prev: Float32Array = xr;
    let prevN = inputs;
    for (const layer of weights.hidden) {
      const h = a;
      dense(layer, prev, prevN, h);
      for (let j = 0; j < layer.outputs; j++) if (h[j]! < 0) h[j] = 0;
      prev = h;
      prevN = layer.outputs;
      a = b;
      b = h;
    }
    const o = out.subarray(r * outN, (r + 1) * outN);
    dense(weights.output, prev, prevN, o);
    const s = weights.skip;
    for (let k = 0; k < inputs; k++) {
      const xk = xr[k]!;
      if (xk === 0) continue;
      const base = k * outN;
      for (let j = 0; j < outN; j++) o[j]! += xk * s[base + j]!;
    }
  }
  return quantileTransform(out, weights.quantileCount);
}

function dense(layer: DenseLayer, input: Float32Array, inputN: number, out: Float32Array): void {
  const { outputs, w, b } = layer;
  for (let j = 0; j < outputs; j++) out[j] = b[j]!;
  for (let k = 0; k < inputN; k++) {
    const xk = input[k]!;
    if (xk === 0) continue;
    const base = k * outputs;
    for (let j = 0; j < outputs; j++) out[j]! += xk * w[base + j]!;
  }
}

/** Layout of serialised weights: shapes, in the order the arrays are concatenated. */
export interface MlpLayout {
  hidden: Array<[number, number]>;
  output: [number, number];
  quantileCount: number;
}

/** Weights as one little-endian Float32 buffer (for a bytea column) plus its layout. */
export function serialiseMlp(weights: MlpWeights): { layout: MlpLayout; bytes: Buffer } {
  const parts: Float32Array[] = [];
  for (const l of weights.hidden) parts.push(l.w, l.b);
  parts.push(weights.output.w, weights.output.b, weights.skip);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const flat = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    flat.set(p, o);
    o += p.length;
  }
  const bytes = Buffer.alloc(total * 4);
  for (let i = 0; i < total; i++) bytes.writeFloatLE(flat[i]!, i * 4);
  return {
    layout: { hidden: weights.hidden.map((l) => [l.inputs, l.outputs]), output: [weights.output.inputs, weights.output.outputs], quantileCount: weights.quantileCount },
    bytes,
  };
}

/** Inverse of serialiseMlp; throws when the buffer does not match the layout. */
export function deserialiseMlp(layout: MlpLayout, bytes: Uint8Array): MlpWeights {
  const inputs = layout.hidden[0]?.[0] ?? layout.output[0];
  const sizes = [...layout.hidden.flatMap(([i, o]) => [i * o, o]), layout.output[0] * layout.output[1], layout.output[1], inputs * layout.output[1]];
  const total = sizes.reduce((s, x) => s + x, 0);
  if (bytes.byteLength !== total * 4) {
    throw new NovaError('FORECAST_MODEL_CORRUPT', `stored weights have ${bytes.byteLength} bytes, the layout needs ${total * 4}; the model version is damaged, retrain it`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const take = (len: number) => {
    const a = new Float32Array(len);
    for (let i = 0; i < len; i++) a[i] = view.getFloat32((o + i) * 4, true);
    o += len;
    return a;
  };
  const hidden = layout.hidden.map(([i, out]) => ({ inputs: i, outputs: out, w: take(i * out), b: take(out) }));
  const output = { inputs: layout.output[0], outputs: layout.output[1], w: take(layout.output[0] * layout.output[1]), b: take(layout.output[1]) };
  const skip = take(inputs * layout.output[1]);
  return { hidden, output, skip, quantileCount: layout.quantileCount };
}
