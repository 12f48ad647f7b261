import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ewma } from '../baselines.ts';
import { HoltWinters, fitHoltWinters, initialState } from './holt-winters.ts';
import { baselineForecasts, fitEwmaAlpha } from './point-baselines.ts';
import { mulberry32 } from './random.ts';

const close = (actual: number, expected: number, eps = 1e-12) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not ${expected}`);

test('naive repeats the value at the origin for every horizon', () => {
  const v = Float64Array.from([1, 2, 3, 4, 5]);
  const out = baselineForecasts('naive', v, 5, 1, 3, [1, 2], 3);
  assert.deepEqual(out.map((a) => Array.from(a)), [[2, 3, 4], [2, 3, 4]]);
});

test('seasonal naive takes the value one season before the target, none without a season of history', () => {
  const v = Float64Array.from({ length: 10 }, (_, i) => i * 10);
  // season 3: target t + 1 → index t − 2; target t + 4 (> season) → t + 4 − 6 = t − 2.
  const out = baselineForecasts('seasonal-naive', v, 10, 1, 4, [1, 4], 3);
  assert.ok(Number.isNaN(out[0]![0]!)); // t = 1: index −1
  assert.deepEqual(Array.from(out[0]!.subarray(1)), [0, 10, 20]);
  assert.deepEqual(Array.from(out[1]!.subarray(1)), [0, 10, 20]);
  // A missing season-ago sample falls back to the last value.
  const gappy = Float64Array.from([0, Number.NaN, 2, 3, 4]);
  assert.deepEqual(Array.from(baselineForecasts('seasonal-naive', gappy, 5, 3, 3, [1], 3)[0]!), [3]);
});

test('EWMA forecasts the smoothed level, the same recursion as models/baselines ewma()', () => {
  const rand = mulberry32(3);
  const v = Float64Array.from({ length: 200 }, () => 10 + rand());
  const alpha = fitEwmaAlpha(v, 150, [1, 12]);
  const out = baselineForecasts('ewma', v, 150, 150, 180, [1, 12], 288);
  for (const t of [150, 165, 180]) close(out[0]![t - 150]!, ewma(Array.from(v.subarray(0, t + 1)), alpha).level, 1e-9);
  assert.deepEqual(Array.from(out[1]!), Array.from(out[0]!)); // flat forecast
});

test('fitEwmaAlpha smooths noise around a level and follows a random walk', () => {
  const rand = mulberry32(11);
  const noisy = Float64Array.from({ length: 600 }, () => 50 + 10 * (rand() - 0.5));
  assert.ok(fitEwmaAlpha(noisy, 600, [1, 12]) <= 0.05);
  let x = 0;
  const walk = Float64Array.from({ length: 600 }, () => (x += rand() < 0.5 ? -1 : 1));
  assert.ok(fitEwmaAlpha(walk, 600, [1]) >= 0.7);
});

test('Holt-Winters forecasts come from parameters fitted on the training part only', () => {
  const rand = mulberry32(5);
  const period = 6;
  const v = Float64Array.from({ length: 60 }, (_, i) => 20 + 5 * Math.sin((2 * Math.PI * i) / period) + rand());
  const out = baselineForecasts('holt-winters', v, 40, 45, 50, [1, 3], period);
  // Changing values after the fit end moves the state, never the parameters: refit by hand and compare.
  const params = fitHoltWinters(v, 40, period);
  const hw = new HoltWinters(params, initialState(v, params.period));
  for (let t = 0; t <= 47; t++) hw.update(v[t]!);
  close(out[0]![47 - 45]!, hw.forecast(1), 1e-9);
  close(out[1]![47 - 45]!, hw.forecast(3), 1e-9);
});
