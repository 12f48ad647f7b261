import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../core/index.ts';
import { HP_PROLIANT_ML110_G4, HP_PROLIANT_ML110_G5, intervalEnergy, specPowerModel } from './power.ts';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('SPECpower models return the measured watts at 0 %, 10 %, …, 100 %', () => {
  const g4 = [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117];
  const g5 = [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135];
  for (let i = 0; i <= 10; i++) {
    close(HP_PROLIANT_ML110_G4.power(i / 10), g4[i]!);
    close(HP_PROLIANT_ML110_G5.power(i / 10), g5[i]!);
  }
  assert.equal(HP_PROLIANT_ML110_G4.idleWatts, 86);
  assert.equal(HP_PROLIANT_ML110_G5.maxWatts, 135);
});

test('power is linear between the two nearest measured points', () => {
  close(HP_PROLIANT_ML110_G4.power(0.05), 87.7); // halfway 86 → 89.4
  close(HP_PROLIANT_ML110_G4.power(0.55), 104); // halfway 102 → 106
  close(HP_PROLIANT_ML110_G5.power(0.975), 134.5); // three quarters 133 → 135
  close(HP_PROLIANT_ML110_G5.power(0.125), 98); // a quarter 97 → 101
  const lin = specPowerModel('linear', [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200]);
  for (const u of [0, 0.01, 0.333, 0.5, 0.77, 0.999, 1]) close(lin.power(u), 100 + 100 * u, 1e-9);
});

test('utilisation outside [0, 1] is a typed error, and a bad table is refused', () => {
  assert.throws(() => HP_PROLIANT_ML110_G4.power(1.0000001), (e) => hasCode(e, 'BACKTEST_POWER_RANGE'));
  assert.throws(() => HP_PROLIANT_ML110_G4.power(-0.1), (e) => hasCode(e, 'BACKTEST_POWER_RANGE'));
  assert.throws(() => HP_PROLIANT_ML110_G4.power(Number.NaN), (e) => hasCode(e, 'BACKTEST_POWER_RANGE'));
  assert.throws(() => specPowerModel('short', [1, 2, 3]), (e) => hasCode(e, 'BACKTEST_POWER_MODEL_INVALID'));
});

test('interval energy is the trapezoid of the two powers, and 0 for a host that was off', () => {
  close(intervalEnergy(HP_PROLIANT_ML110_G4, 0.5, 1, 10), ((102 + 117) / 2) * 10);
  close(intervalEnergy(HP_PROLIANT_ML110_G5, 0.2, 0, 300), ((101 + 93.7) / 2) * 300);
  assert.equal(intervalEnergy(HP_PROLIANT_ML110_G5, 0, 0.9, 300), 0);
});
