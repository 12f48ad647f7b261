import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from './backend.ts';
import { deserialiseMlp, initMlp, mlpForward, serialiseMlp } from './mlp.ts';
import { forecastBatch } from './model.ts';
import { trainAndEvaluate } from './pipeline.ts';
import { mulberry32 } from './random.ts';
import { naiveReference, pool, summarise } from './report.ts';
import type { RegularSeries } from './series.ts';
import { DEFAULT_SPEC, featureCount } from './spec.ts';
import { tfForward } from './tf-train.ts';

/** 24 VMs, 5 days of 5-minute steps: a daily sine with a per-VM phase and amplitude, plus noise. */
function syntheticFleet(): RegularSeries[] {
  const rand = mulberry32(42);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: 24 }, (_, i) => {
    const phase = rand() * 2 * Math.PI;
    const amp = 10 + 20 * rand();
    const values = Float64Array.from({ length: 5 * 288 }, (_, t) => Math.max(0, 40 + amp * Math.sin((2 * Math.PI * t) / 288 + phase) + 2 * gauss()));
    return { id: `syn/vm-${i}/cpu`, entity: `syn/vm-${i}`, group: 'syn/cpu', startSec: 0, absoluteTime: true, values };
  });
}

test('the network learns a seasonal fleet better than the naive forecasts, and is promoted', async () => {
  const fleet = syntheticFleet();
  const r = await trainAndEvaluate(fleet, {
    trainingSet: { maxPerGroup: 15_000, seed: 1 },
    train: { epochs: 10, batchSize: 256, learningRate: 3e-3, seed: 1 },
  });
  const rows = summarise(r.evaluation.test);
  const mase = (method: string, h: number) => rows.find((x) => x.method === method && x.horizon === h)!.mase;
  for (const h of [12, 72]) {
    assert.ok(mase('model', h) < 0.6 * mase('naive', h), `h=${h}: model MASE ${mase('model', h)}, naive ${mase('naive', h)}`);
  }
  // Against the better naive (here the seasonal one), pooled over both horizons.
  const pooled = pool(r.evaluation.test, 'model', naiveReference(rows), new Set(['syn/cpu']));
  assert.ok(pooled.maseRatio < 0.9, `model / best naive MASE ratio ${pooled.maseRatio}`);
  assert.equal(r.decision.status, 'promoted', r.decision.reason);
  assert.ok(['wasm', 'cpu', 'tensorflow'].includes(r.backend.backend));
  assert.equal(r.backend.trials.find((t) => t.backend === 'tensorflow')?.ok === true, r.backend.backend === 'tensorflow');

  // Batched inference: every VM, quantiles ordered and never negative, median close to the truth.
  const { forecasts, skipped } = await forecastBatch(r.model, fleet.map((s) => ({ ...s, values: s.values.slice(0, 1000) })));
  assert.equal(skipped.length, 0);
  assert.equal(forecasts.length, fleet.length);
  for (const f of forecasts) {
    assert.equal(f.quantiles.length, DEFAULT_SPEC.horizons.length);
    for (const q of f.quantiles) assert.ok(q[0]! >= 0 && q[0]! <= q[1]! && q[1]! <= q[2]!, `quantiles ${q}`);
  }
  const err = forecasts.map((f, i) => Math.abs(f.quantiles[2]![0]! - fleet[i]!.values[999 + 12]!));
  assert.ok(err.reduce((s, x) => s + x, 0) / err.length < 4, `1-h median error ${err}`);
});

test('TF.js and plain Float32Array forward passes agree; weights survive serialisation', async () => {
  await selectBackend(() => undefined, 1);
  const f = featureCount(DEFAULT_SPEC);
  const w = initMlp(f, [16, 8], 5, 3, DEFAULT_SPEC.lags - 1, 9);
  const rand = mulberry32(2);
  const n = 50;
  const x = Float32Array.from({ length: n * f }, () => rand() * 4 - 2);
  const js = mlpForward(w, x, n);
  const tf = await tfForward(w, x, n, 16);
  for (let i = 0; i < js.length; i++) assert.ok(Math.abs(js[i]! - tf[i]!) < 1e-4, `output ${i}: ${js[i]} vs ${tf[i]}`);
  const { layout, bytes } = serialiseMlp(w);
  assert.deepEqual(mlpForward(deserialiseMlp(layout, bytes), x, n), js);
  assert.throws(() => deserialiseMlp(layout, bytes.subarray(4)), { code: 'FORECAST_MODEL_CORRUPT' });
});
