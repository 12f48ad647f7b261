import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HoltWinters, fitHoltWinters, initialState } from './holt-winters.ts';

const close = (actual: number, expected: number, eps = 1e-12) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not ${expected}`);

test('Holt (no season) follows the damped-trend recursions by hand', () => {
  // α = β = 0.5, φ = 1, start at level 10, trend 0:
  // y=10: err 0 → l 10, b 0; y=12: err 2 → l 11, b 0.5; y=13: err 1.5 → l 12.25, b 0.875.
  const hw = new HoltWinters({ alpha: 0.5, beta: 0.5, gamma: 0, phi: 1, period: 0 }, initialState([10, 12, 13], 0));
  close(hw.update(10), 0);
  close(hw.update(12), 2);
  close(hw.next(), 11.5);
  close(hw.update(13), 1.5);
  close(hw.level, 12.25);
  close(hw.trend, 0.875);
  close(hw.forecast(1), 13.125);
  close(hw.forecast(3), 14.875);
  // A missing value moves the state along its own forecast.
  assert.ok(Number.isNaN(hw.update(Number.NaN)));
  close(hw.level, 13.125);
  close(hw.forecast(1), 14);
});

test('damping sums φ + … + φ^h on the trend', () => {
  const hw = new HoltWinters({ alpha: 0.5, beta: 0.5, gamma: 0, phi: 0.5, period: 0 }, { level: 10, trend: 2 });
  close(hw.forecast(1), 11);
  close(hw.forecast(2), 10 + (0.5 + 0.25) * 2);
});

test('additive Holt-Winters: initial state and two updates by hand (period 2)', () => {
  // Means of the first two periods 2 and 3 → level 2, trend 0.5; indices ((1−2)+(2−3))/2 = −1, ((3−2)+(4−3))/2 = 1.
  const init = initialState([1, 3, 2, 4], 2);
  close(init.level, 2);
  close(init.trend, 0.5);
  assert.deepEqual(Array.from(init.season!), [-1, 1]);
  const hw = new HoltWinters({ alpha: 0.5, beta: 0.5, gamma: 0.5, phi: 1, period: 2 }, init);
  // y=1: forecast 2 + 0.5 − 1 = 1.5; l = .5(1+1) + .5(2.5) = 2.25; b = .5(.25) + .5(.5) = .375; s0 = .5(1−2.25) + .5(−1) = −1.125
  close(hw.update(1), -0.5);
  close(hw.level, 2.25);
  close(hw.trend, 0.375);
  close(hw.season[0]!, -1.125);
  // y=3: forecast 2.25 + .375 + 1 = 3.625; l = .5(3−1) + .5(2.625) = 2.3125; b = .5(.0625) + .5(.375) = .21875; s1 = .5(.6875) + .5 = .84375
  close(hw.update(3), -0.625);
  close(hw.level, 2.3125);
  close(hw.trend, 0.21875);
  close(hw.season[1]!, 0.84375);
  close(hw.forecast(1), 2.3125 + 0.21875 - 1.125);
  close(hw.forecast(2), 2.3125 + 2 * 0.21875 + 0.84375);
  close(hw.forecast(3), 2.3125 + 3 * 0.21875 - 1.125);
});

test('parameters out of range and short seasonal histories are rejected', () => {
  assert.throws(() => new HoltWinters({ alpha: 1.5, beta: 0, gamma: 0, phi: 1, period: 0 }, { level: 0, trend: 0 }), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => new HoltWinters({ alpha: 0.5, beta: 0, gamma: 0, phi: 1, period: 3 }, { level: 0, trend: 0 }), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => initialState([1, 2, 3], 2), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => initialState([Number.NaN], 0), { code: 'MODELS_EMPTY_SERIES' });
});

test('fitHoltWinters is seasonal only with two periods of history and fits a clean season exactly', () => {
  const period = 4;
  const pattern = [0, 10, 0, -10];
  const values = Float64Array.from({ length: 40 }, (_, i) => 50 + pattern[i % period]!);
  const seasonal = fitHoltWinters(values, 40, period);
  assert.equal(seasonal.period, period);
  const hw = new HoltWinters(seasonal, initialState(values, seasonal.period));
  for (const y of values) hw.update(y);
  for (let h = 1; h <= 8; h++) close(hw.forecast(h), 50 + pattern[(40 + h - 1) % period]!, 1e-6);
  assert.equal(fitHoltWinters(values, 7, period).period, 0);
});
