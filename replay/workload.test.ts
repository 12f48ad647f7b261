import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../core/index.ts';
import { migrationSeconds, planetLabExperiment } from './experiment.ts';
import { cloudSimUtilization, utilizationAt, type Workload } from './workload.ts';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('a trace is value/100 per sample, with the last sample repeated as an extra point; extra values are not read', () => {
  const d = cloudSimUtilization(Uint8Array.from([24, 34, 0, 99, 50]), 'f', 4);
  assert.deepEqual([...d], [0.24, 0.34, 0, 0.99, 0.99]);
  assert.throws(() => cloudSimUtilization([1, 2], 'f', 4), (e) => hasCode(e, 'BACKTEST_TRACE_INVALID') && /holds 2 values/.test(e.message));
});

test('utilisation is interpolated linearly between samples and read exactly at multiples of the interval', () => {
  const d = Float64Array.from([0.1, 0.4, 0.4, 0.0, 0.0]);
  assert.equal(utilizationAt(d, 0, 300), 0.1);
  assert.equal(utilizationAt(d, 600, 300), 0.4);
  close(utilizationAt(d, 150, 300), 0.25);
  close(utilizationAt(d, 450, 300), 0.4);
  close(utilizationAt(d, 750, 300), 0.2);
  // At a decision tick 300k + 0.1 the sample has moved 1/3000 of the way to the next one.
  close(utilizationAt(d, 300.1, 300), 0.4);
  close(utilizationAt(d, 0.1 + 300 * 2 + 300 - 300, 300), 0.4 + (0 - 0.4) / 3000);
  close(utilizationAt(d, 300 * 0 + 0.1, 300), 0.1 + (0.4 - 0.1) / 3000);
  assert.throws(() => utilizationAt(d, 1300, 300), (e) => hasCode(e, 'BACKTEST_TIME_RANGE'));
});

function workload(n: number, samples = 288): Workload {
  const u = new Float64Array(samples + 1).fill(0.5);
  return { day: 'synthetic', names: Array.from({ length: n }, (_, i) => `vm${i}`), utilization: Array.from({ length: n }, () => u), interval: 300 };
}

test('the PlanetLab setup: host types alternate, VM types come in contiguous quarters, 287 ticks', () => {
  const exp = planetLabExperiment(workload(1052));
  assert.equal(exp.hostCount, 800);
  assert.deepEqual([exp.hostMips[0], exp.hostMips[1], exp.hostMips[798], exp.hostMips[799]], [3720, 5320, 3720, 5320]);
  assert.deepEqual([exp.hostCoreMips[0], exp.hostCoreMips[1]], [1860, 2660]);
  const typeAt = (v: number) => exp.vmType[v];
  assert.deepEqual([typeAt(0), typeAt(262), typeAt(263), typeAt(525), typeAt(526), typeAt(788), typeAt(789), typeAt(1051)], [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual([exp.vmMips[0], exp.vmMips[300], exp.vmMips[600], exp.vmMips[1000]], [2500, 2000, 1000, 500]);
  assert.equal(exp.ticks, 287);
  assert.equal(exp.attachTime + exp.ticks * exp.interval, 86100.1);
  const small = planetLabExperiment(workload(898));
  assert.deepEqual([small.vmType[224], small.vmType[225], small.vmType[449], small.vmType[450], small.vmType[897]], [0, 1, 1, 2, 3]);
});

test('a migration takes RAM / 62.5 MB/s: half of a 1 Gbit/s link', () => {
  const exp = planetLabExperiment(workload(1052));
  close(migrationSeconds(exp, 0, 1), 13.92);
  close(migrationSeconds(exp, 300, 0), 27.84);
  close(migrationSeconds(exp, 600, 0), 27.84);
  close(migrationSeconds(exp, 1000, 0), 9.808);
});
