import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../../core/index.ts';
import { forecastNextInterval, historyNeeded, NEXT_INTERVAL_DEFAULTS } from './next-interval.ts';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≈ ${b}`);

test('level is an EWMA of the samples and spread the RMS of its own one-step errors', () => {
  // Size 2.5: errors are measured relative to it and scaled back.
  const f = forecastNextInterval([{ history: [0.5, 1, 0.5, 1], size: 2.5 }, { history: [0.25, 0.25, 0.25, 0.25], size: 2.5 }], { alpha: 0.5, window: 3, warmup: 0, poolWeight: 0, minSpread: 0 });
  // Relative: 0.2, 0.4, 0.2, 0.4 → EWMA 0.2 → 0.3 → 0.25 → 0.325; errors 0.2, −0.1, 0.15.
  close(f.level[0]!, 0.325 * 2.5);
  close(f.spread[0]!, Math.sqrt((0.04 + 0.01 + 0.0225) / 3) * 2.5);
  assert.deepEqual([...f.errors.subarray(0, 3)].map((x) => Math.round(x * 1000)), [375, -250, 500], 'newest first, in the series unit');
  assert.equal(f.errorCount, 3);
  assert.equal(f.spread[1], 0, 'a flat series has no error');
  const floored = forecastNextInterval([{ history: [1, 1, 1, 1], size: 4 }], { window: 3, warmup: 0, poolWeight: 0, minSpread: 0.01 });
  close(floored.spread[0]!, 0.04);
});

test('a series with few errors borrows the fleet\'s; before any error the prior is used', () => {
  const pooled = forecastNextInterval([{ history: [0.5, 1, 0.5, 1], size: 2.5 }, { history: [0.25, 0.25, 0.25, 0.25], size: 2.5 }], { alpha: 0.5, window: 3, warmup: 0, poolWeight: 3, minSpread: 0 });
  assert.ok(pooled.spread[1]! > 0, 'the flat series borrows the fleet\'s error');
  const first = forecastNextInterval([{ history: [0.75], size: 2.5 }, { history: [1], size: 2 }], { priorSpread: 0.15 });
  assert.deepEqual([...first.level], [0.75, 1]);
  close(first.spread[0]!, 0.15 * 2.5);
  close(first.spread[1]!, 0.15 * 2);
});

test('only the last window + warmup + 1 samples matter, and the same input gives the same output', () => {
  const n = historyNeeded();
  assert.equal(n, NEXT_INTERVAL_DEFAULTS.window + NEXT_INTERVAL_DEFAULTS.warmup + 1);
  const tail = Array.from({ length: n }, (_, i) => 1 + Math.sin(i / 3));
  const a = forecastNextInterval([{ history: [9, 9, 9, ...tail], size: 2 }]);
  const b = forecastNextInterval([{ history: tail, size: 2 }]);
  assert.deepEqual(a, b);
});

test('invalid options and inputs are refused with codes', () => {
  assert.throws(() => forecastNextInterval([], { alpha: 0 }), (e) => hasCode(e, 'FORECAST_OPTION_INVALID'));
  assert.throws(() => forecastNextInterval([{ history: [1], size: 0 }]), (e) => hasCode(e, 'FORECAST_INPUT_INVALID'));
  assert.throws(() => forecastNextInterval([{ history: [], size: 1 }]), (e) => hasCode(e, 'FORECAST_INPUT_INVALID'));
});
