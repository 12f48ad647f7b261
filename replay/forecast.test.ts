import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../core/index.ts';
import { planetLabExperiment, type Experiment } from './experiment.ts';
import { smoothedForecaster, volatilityForecaster } from './forecast.ts';
import type { TickView } from './policy.ts';

/** A view of VM `v`'s past samples at tick k (only what a forecaster reads). */
function view(exp: Experiment, past: number[][], requested: number[]): TickView {
  return {
    experiment: exp,
    tick: past[0]!.length,
    vmHost: Int32Array.from(past, () => 0),
    requestedMips: Float64Array.from(requested),
    pastUtilization: (v: number) => Float64Array.from(past[v]!),
  } as unknown as TickView;
}

const exp = planetLabExperiment({ day: 'f', names: [], utilization: [new Float64Array(11), new Float64Array(11)], interval: 300 }, { hosts: 2 });

test('the smoothed forecaster: an EWMA level and the RMS of its own one-step errors', () => {
  const past = [[0.2, 0.4, 0.2, 0.4], [0.1, 0.1, 0.1, 0.1]];
  const f = smoothedForecaster({ alpha: 0.5, window: 3, warmup: 0, poolWeight: 0, minSpread: 0 }).forecast(view(exp, past, [0, 0]));
  // VM 0 (2,500 MIPS): EWMA 0.2 → 0.3 → 0.25 → 0.325; errors 0.2, −0.1, 0.15 (newest last).
  assert.ok(Math.abs(f.level[0]! - 0.325 * 2500) < 1e-9);
  assert.ok(Math.abs(f.spread[0]! - Math.sqrt((0.04 + 0.01 + 0.0225) / 3) * 2500) < 1e-9);
  assert.deepEqual([...f.errors!.subarray(0, 3)].map((x) => Math.round(x)), [375, -250, 500]);
  assert.equal(f.errorCount, 3);
  // A flat VM has no error; the floor keeps its spread above 0.
  assert.equal(f.spread[1], 0);
  const floored = smoothedForecaster({ window: 3, warmup: 0, poolWeight: 0, minSpread: 0.01 }).forecast(view(exp, past, [0, 0]));
  assert.equal(floored.spread[1], 0.01 * exp.vmMips[1]!);
});

test('both forecasters shrink a VM\'s spread towards the fleet\'s, and use the prior before any error is seen', () => {
  const past = [[0.2, 0.4, 0.2, 0.4], [0.1, 0.1, 0.1, 0.1]];
  const pooled = smoothedForecaster({ alpha: 0.5, window: 3, warmup: 0, poolWeight: 3, minSpread: 0 }).forecast(view(exp, past, [0, 0]));
  assert.ok(pooled.spread[1]! > 0, 'the flat VM borrows the fleet\'s error');
  const first = smoothedForecaster({ priorSpread: 0.15 }).forecast(view(exp, [[0.3], [0.5]], [750, 1000]));
  assert.deepEqual([...first.level], [750, 1000]);
  assert.ok(Math.abs(first.spread[0]! - 0.15 * 2500) < 1e-9 && Math.abs(first.spread[1]! - 0.15 * 2000) < 1e-9);
  const naive = volatilityForecaster({ window: 3, poolWeight: 0, minSpread: 0 }).forecast(view(exp, past, [1000, 250]));
  assert.deepEqual([...naive.level], [1000, 250]);
  assert.ok(Math.abs(naive.spread[0]! - 0.2 * 2500) < 1e-9);
  assert.throws(() => smoothedForecaster({ alpha: 0 }), (e) => hasCode(e, 'BACKTEST_OPTION_INVALID'));
});
