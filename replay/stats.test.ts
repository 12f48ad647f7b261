import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median } from 'simple-statistics';
import { iqr, linearFit, mad, mean, sampleStdDev, trimmedLength } from './stats.ts';

/** commons-math3 Percentile, LEGACY estimation (what CloudSim's MathUtil.median calls), of an ascending array. */
function legacyPercentile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  const pos = (p / 100) * (n + 1);
  const fpos = Math.floor(pos);
  const dif = pos - fpos;
  if (n === 1 || pos < 1) return sorted[0]!;
  if (pos >= n) return sorted[n - 1]!;
  const lower = sorted[fpos - 1]!;
  return lower + dif * (sorted[fpos]! - lower);
}

test('simple-statistics median is commons-math LEGACY median to the bit, so MAD is MathUtil.mad', () => {
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 2000; trial++) {
    const n = 1 + (trial % 40);
    // Utilisation-like values, some repeated, some of very different magnitude: rounding must agree too.
    const xs = Array.from({ length: n }, () => (rand() < 0.2 ? 0.25 : rand() * 10 ** Math.floor(rand() * 6 - 3)));
    const sorted = [...xs].sort((a, b) => a - b);
    const m = legacyPercentile(sorted, 50);
    assert.ok(Object.is(median(xs), m), `n=${n}: ${median(xs)} vs LEGACY ${m}`);
    const dev = xs.map((x) => Math.abs(m - x)).sort((a, b) => a - b);
    assert.ok(Object.is(mad(Float64Array.from(xs), n), legacyPercentile(dev, 50)), `MAD n=${n}`);
  }
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(legacyPercentile([1, 2, 3, 4], 25), 1.25); // pos = 0.25·5
});

test('MAD and IQR follow CloudSim MathUtil', () => {
  assert.equal(mad([1, 1, 2, 2, 4, 6, 9], 7), 1); // median 2, deviations 1 1 0 0 2 4 7
  const thirty = Array.from({ length: 30 }, (_, i) => 30 - i); // values 1..30
  assert.equal(iqr(thirty, 30), 23 - 8); // sorted[22] − sorted[7]
  assert.equal(iqr([5, 1, 3, 2, 4, 6, 7, 8, 9, 10, 11, 12], 12), 10 - 3); // n = 12: indices round(3.25)−1 = 2, round(9.75)−1 = 9
});

test('least squares on x = 1..n recovers a line', () => {
  const [a, b] = linearFit([3, 5, 7, 9, 11, 13, 15, 17, 19, 21], 10);
  assert.ok(Math.abs(a - 1) < 1e-12 && Math.abs(b - 2) < 1e-12);
  const [a2, b2] = linearFit([1, 2, 1, 2], 4);
  assert.ok(Math.abs(b2 - 0.2) < 1e-12 && Math.abs(a2 - 1) < 1e-12);
});

test('trailing zeros are trimmed, and an all-zero history keeps length 1 (CloudSim quirk)', () => {
  assert.equal(trimmedLength([0.5, 0.2, 0, 0], 4), 2);
  assert.equal(trimmedLength([0.5, 0, 0.2, 0], 4), 3);
  assert.equal(trimmedLength([0, 0, 0], 3), 1);
});

test('mean and sample standard deviation', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.ok(Math.abs(sampleStdDev([1, 2, 3, 4]) - Math.sqrt(5 / 3)) < 1e-12);
  assert.equal(sampleStdDev([5]), 0);
  assert.ok(Number.isNaN(mean([])));
});
