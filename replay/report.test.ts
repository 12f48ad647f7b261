import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../core/index.ts';
import { formatPercent, lowerBoundRow, resultCost, tableLine } from './report.ts';
import { backtestCost, backtestCostRates, billedHostHours, DEFAULT_BACKTEST_COST_RATES } from './run-cost.ts';
import type { BacktestResult } from './simulator.ts';

test('cost = energy × kWh price + host-hours × host-hour price; NPA pays for every host all the time', () => {
  assert.deepEqual(DEFAULT_BACKTEST_COST_RATES, { kwhPrice: 0.15, hostHourPrice: 0.05 });
  assert.equal(backtestCost(100, 1000, { kwhPrice: 0.1, hostHourPrice: 0.02 }), 10 + 20);
  const r = { energyModel: 'power-model', hosts: 800, lastEventTime: 86_100.1, activeHostHours: 1000, energyKWh: 100 } as BacktestResult;
  assert.equal(billedHostHours(r), 1000);
  assert.equal(billedHostHours({ ...r, energyModel: 'max-power' }), (800 * 86_100.1) / 3600);
  assert.ok(Math.abs(resultCost(r, DEFAULT_BACKTEST_COST_RATES) - (15 + 50)) < 1e-12);
  assert.deepEqual(backtestCostRates({ kwhPrice: undefined, hostHourPrice: 0 }), { kwhPrice: 0.15, hostHourPrice: 0 });
  assert.throws(() => backtestCostRates({ kwhPrice: -1 }), (e) => hasCode(e, 'BACKTEST_OPTION_INVALID'));
});

test('percentages print at CloudSim precision, and a non-zero value too small for it in exponent form', () => {
  assert.equal(formatPercent(0.00432, 5), '0.00432');
  assert.equal(formatPercent(0, 5), '0.00000');
  assert.equal(formatPercent(2.6e-8, 5), '2.6e-8');
  assert.equal(formatPercent(undefined, 2), '—');
  const line = tableLine(lowerBoundRow({ name: 'lower bound', energyKWh: 96.397, activeHostHours: 719.25, meanHosts: 30, peakHosts: 35, runtimeMs: 20 }, DEFAULT_BACKTEST_COST_RATES));
  assert.match(line, /^lower bound\s+96\.40\s+0\s+0\.00\s+0\.00\s+0\.00000\s+719\.3\s+—\s+50\.42\s+0\.02 s$/);
});
