import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iqr, linearFit, mad, mean, median, percentileOfSorted, sampleStdDev, trimmedLength } from './stats.ts';

test('median is the middle value, or the mean of the middle two', () => {
  assert.equal(median([3, 1, 2], 3), 2);
  assert.equal(median([4, 1, 3, 2], 4), 2.5);
  assert.equal(median([7], 1), 7);
  assert.equal(percentileOfSorted([1, 2, 3, 4], 4, 25), 1.25); // commons-math LEGACY: pos = 0.25·5
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
