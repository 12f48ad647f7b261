import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyShifts, conformalShift, ShiftCollector } from './calibration.ts';
import { ErrorSums, coverage, mase, meanPinball, naiveScale, pinball, smape, smapeTerm } from './metrics.ts';

const close = (actual: number, expected: number, eps = 1e-12) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not ${expected}`);

test('naiveScale is the in-sample MAE of the lag-k naive, skipping missing pairs', () => {
  close(naiveScale([1, 3, 2, 6], 4), 7 / 3);
  close(naiveScale([1, 3, 2, 6, 100], 4), 7 / 3, 1e-12); // values at and after `end` are not looked at
  close(naiveScale([1, Number.NaN, 2, 4], 4), 2);
  close(naiveScale([1, 3, 2, 6], 4, 2), 2);
  assert.equal(naiveScale([5, 5, 5], 3), 0);
  assert.equal(naiveScale([5], 1), 0);
});

test('MASE, sMAPE, pinball and coverage on hand-computed series', () => {
  close(mase([2, 4], [3, 3], 2), 0.5);
  close(smapeTerm(100, 50), 200 * 50 / 150);
  assert.equal(smapeTerm(0, 0), 0);
  assert.equal(smapeTerm(0, 5), 200);
  close(smape([100, 0], [50, 0]), (200 * 50 / 150) / 2);
  close(pinball(10, 8, 0.9), 1.8);
  close(pinball(10, 12, 0.9), 0.2);
  close(pinball(10, 10, 0.99), 0);
  close(meanPinball([10, 10], [8, 12], 0.5), 1);
  close(coverage([1, 2, 3, 4], [2, 2, 2, 2]), 0.5);
  assert.throws(() => mase([1], [1], 0), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => smape([1, 2], [1]), { code: 'MODELS_INVALID_ARGUMENT' });
});

test('ErrorSums accumulates the same quantities', () => {
  const s = new ErrorSums(2);
  s.add(10, 8, [8, 12], [0.5, 0.9]);
  s.add(0, 0, [0, 1], [0.5, 0.9]);
  assert.equal(s.n, 2);
  close(s.absError, 2);
  close(s.smape, 200 * 2 / 18);
  close(s.pinball[0]!, 1); // 0.5·2 + 0
  close(s.pinball[1]!, 0.2 + 0.1); // (0.9−1)(−2) + (0.9−1)(−1)
  assert.deepEqual(s.covered, [1, 2]);
});

test('conformalShift takes the ⌈(n+1)τ⌉-th smallest score', () => {
  const scores = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 1.0, 0.4, 0.8, 0.6];
  close(conformalShift(scores, 0.9), 1.0); // ⌈11 × 0.9⌉ = 10
  close(conformalShift(scores, 0.5), 0.6); // ⌈5.5⌉ = 6
  close(conformalShift(scores, 0.05), 0.1);
  assert.equal(conformalShift([], 0.9), 0);
});

test('ShiftCollector scores in units of the local scale and leaves the median alone', () => {
  const c = new ShiftCollector([12], [0.5, 0.9]);
  for (let i = 1; i <= 9; i++) {
    c.add(0, 0, i, 0, 2);
    c.add(0, 1, i, 0, 2);
  }
  const s = c.finish();
  assert.deepEqual(s.count, [9]);
  assert.equal(s.shift[0]![0], 0);
  close(s.shift[0]![1]!, 4.5); // scores i/2; ⌈10 × 0.9⌉ = 9th = 4.5
});

test('applyShifts adds shift × scale, keeps quantiles ordered and non-negative', () => {
  const q = [5, 6, 7];
  applyShifts(q, [0, 1, 2], 0.5);
  assert.deepEqual(q, [5, 6.5, 8]);
  const crossing = [5, 4, 3];
  applyShifts(crossing, [0, 0, 0], 1);
  assert.deepEqual(crossing, [5, 5, 5]);
  const negative = [-1, 2, 3];
  applyShifts(negative, [0, 0, 0], 1);
  assert.deepEqual(negative, [0, 2, 3]);
});
