import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alphaForHalfLife, ewma, inferStepMs, quantile, seasonalNaiveWindow } from './index.ts';

const close = (actual: number, expected: number, eps = 1e-12) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not ${expected}`);

test('quantile interpolates linearly between order statistics', () => {
  close(quantile([4, 1, 3, 2], 0.5), 2.5);
  // h = 4 × 0.95 = 3.8 → 40 + 0.8 × (50 − 40)
  close(quantile([50, 10, 40, 20, 30], 0.95), 48);
  assert.equal(quantile([3, 1, 2], 0), 1);
  assert.equal(quantile([3, 1, 2], 1), 3);
  assert.equal(quantile([7], 0.95), 7);
});

test('quantile rejects an empty series and q outside [0, 1]', () => {
  assert.throws(() => quantile([], 0.5), { code: 'MODELS_EMPTY_SERIES' });
  assert.throws(() => quantile([1], 1.5), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => quantile([1], Number.NaN), { code: 'MODELS_INVALID_ARGUMENT' });
});

test('quantile does not reorder its input', () => {
  const values = [3, 1, 2];
  quantile(values, 0.5);
  assert.deepEqual(values, [3, 1, 2]);
});

test('ewma tracks level and exponentially weighted variance', () => {
  // α = 0.5: 1 → (level 1.5, var 0.5·(0 + 1·0.5) = 0.25) → (level 2.25, var 0.5·(0.25 + 1.5·0.75) = 0.6875)
  const s = ewma([1, 2, 3], 0.5);
  close(s.level, 2.25);
  close(s.variance, 0.6875);
  assert.deepEqual(ewma([5, 5, 5, 5], 0.3), { level: 5, variance: 0 });
  assert.deepEqual(ewma([1, 9, 4], 1), { level: 4, variance: 0 });
  assert.deepEqual(ewma([2], 0.1), { level: 2, variance: 0 });
  assert.throws(() => ewma([1], 0), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => ewma([], 0.5), { code: 'MODELS_EMPTY_SERIES' });
});

test('alphaForHalfLife halves the weight every half-life', () => {
  close(alphaForHalfLife(60, 60), 0.5);
  const a = alphaForHalfLife(5, 60);
  close(Math.pow(1 - a, 12), 0.5);
});

test('inferStepMs takes the median gap, ignoring duplicates', () => {
  assert.equal(inferStepMs([0, 300_000, 600_000, 1_200_000]), 300_000);
  assert.equal(inferStepMs([600, 0, 300, 300, 900]), 300);
  assert.equal(inferStepMs([5]), undefined);
  assert.equal(inferStepMs([5, 5]), undefined);
});

test('seasonalNaiveWindow returns the values one season before each future step', () => {
  // ts 0, 10, …, 190 with value ts/10; season 100, horizon 30, now = 190:
  // targets 190 + 10k − 100 = 100, 110, 120.
  const series = Array.from({ length: 20 }, (_, i) => ({ ts: i * 10, value: i }));
  assert.deepEqual(seasonalNaiveWindow(series, 10, 100, 30), [10, 11, 12]);
  // An explicit forecast origin shifts the window.
  assert.deepEqual(seasonalNaiveWindow(series, 10, 100, 20, 150), [6, 7]);
  // Missing samples are skipped, jittered ones still match within half a step.
  const gappy = series.filter((p) => p.ts !== 110).map((p) => (p.ts === 100 ? { ts: 103, value: p.value } : p));
  assert.deepEqual(seasonalNaiveWindow(gappy, 10, 100, 30), [10, 12]);
  // A horizon shorter than a step still looks at the next step.
  assert.deepEqual(seasonalNaiveWindow(series, 10, 100, 5), [10]);
  // Nothing a season back: empty.
  assert.deepEqual(seasonalNaiveWindow(series, 10, 1000, 30), []);
  assert.deepEqual(seasonalNaiveWindow([], 10, 100, 30), []);
});
