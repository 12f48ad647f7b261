import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intervalQuantile } from './pipeline-stats.ts';

const hist = (counts: number[], les = [0.1, 0.5, 1, Infinity]) => les.map((le, i) => ({ le, count: counts[i]! }));

test('the quantile of what an interval added, interpolated inside its bucket', () => {
  // Before: 10 fast batches. The interval adds 100: 50 ≤ 0.1 s, 40 in (0.1, 0.5], 10 in (0.5, 1].
  const before = hist([10, 10, 10, 10]);
  const after = hist([60, 100, 110, 110]);
  assert.equal(intervalQuantile(before, after, 0.5), 0.1); // rank 50 ends the first bucket
  assert.ok(Math.abs(intervalQuantile(before, after, 0.99)! - (0.5 + 0.5 * 9 / 10)) < 1e-12);
  assert.equal(intervalQuantile(before, after, 0.25), 0.05);
});

test('nothing observed gives undefined; a quantile in +Inf gives the highest finite bound', () => {
  assert.equal(intervalQuantile(hist([5, 5, 5, 5]), hist([5, 5, 5, 5]), 0.99), undefined);
  assert.equal(intervalQuantile(hist([0, 0, 0, 0]), hist([0, 0, 0, 4]), 0.99), 1);
});
