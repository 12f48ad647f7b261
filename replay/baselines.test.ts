import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../core/index.ts';
import { peakDemandMips, staticPeakFfdPlacement, staticPeakFfdPolicy } from './baselines.ts';
import { planetLabExperiment, type Experiment, type HostType, type VmType } from './experiment.ts';
import { demandAtTicks, energyLowerBound } from './lower-bound.ts';
import { ALL_POLICIES, createPolicy } from './policies.ts';
import { specPowerModel } from './power.ts';
import { runBacktest, type BacktestResult } from './simulator.ts';
import { defaultOrderFile } from '../traces/index.ts';
import { loadPlanetLabDay } from './workload.ts';

/** A reproducible pseudo-random day: each VM a bounded random walk in percent. */
function randomDay(vms: number, samples: number, seed: number): Float64Array[] {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: vms }, () => {
    let x = Math.floor(rand() * 60);
    const p = Array.from({ length: samples }, () => (x = Math.max(0, Math.min(99, x + Math.round((rand() - 0.5) * 20)))));
    return Float64Array.from([...p, p.at(-1)!], (y) => y / 100);
  });
}

const smallFleet = (seed = 7): Experiment => planetLabExperiment({ day: 'random', names: [], utilization: randomDay(120, 48, seed), interval: 300 }, { hosts: 60 });

function assertPeaksFit(exp: Experiment): Int32Array {
  const peaks = peakDemandMips(exp);
  const hostOf = staticPeakFfdPlacement(exp, peaks);
  const sum = new Float64Array(exp.hostCount);
  for (let v = 0; v < exp.vmCount; v++) {
    const h = hostOf[v]!;
    assert.ok(h >= 0, `VM ${v} placed`);
    assert.ok(peaks[v]! <= exp.hostCoreMips[h]!, `VM ${v}'s peak fits one core of host ${h}`);
    sum[h] = sum[h]! + peaks[v]!;
  }
  for (let h = 0; h < exp.hostCount; h++) assert.ok(sum[h]! <= exp.hostMips[h]!, `host ${h}: summed peaks ${sum[h]} ≤ ${exp.hostMips[h]}`);
  return hostOf;
}

test('static peak FFD: summed peaks never exceed a host at t = 0, it never migrates and never overloads', () => {
  const exp = smallFleet();
  assertPeaksFit(exp);
  const r = runBacktest(exp, staticPeakFfdPolicy());
  assert.equal(r.migrations, 0);
  assert.equal(r.unplacedVms, 0);
  // Peaks fit, so no host is ever short of CPU.
  assert.equal(r.slatah, 0);
  assert.equal(r.overallSlaViolation, 0);
});

test('static peak FFD: largest peaks first, onto the most efficient hosts first', () => {
  const host = (name: string, mips: number, maxWatts: number): HostType => ({ name, cores: 1, coreMips: mips, ramMb: 4096, bw: 1_000_000, power: specPowerModel(name, Array.from({ length: 11 }, (_, i) => 50 + ((maxWatts - 50) * i) / 10)) });
  // Host 0 burns 2 W per 10 MIPS at full load, host 1 only 1: host 1 is filled first.
  const vm: VmType = { name: 'vm', mips: 1000, ramMb: 512, bw: 100_000 };
  const peaks = [[60, 10], [30, 90], [50, 50]].map((p) => Float64Array.from([...p, p.at(-1)!], (x) => x / 100));
  const exp = planetLabExperiment({ day: 'ffd', names: [], utilization: peaks, interval: 300 }, { hosts: 2, hostTypes: [host('hungry', 1000, 200), host('frugal', 1000, 100)], vmTypes: [vm] });
  // Peaks 600, 900, 500 MIPS: 900 → host 1; 600 → host 0 (host 1 has 100 left); 500 → neither fits (−1).
  assert.deepEqual([...staticPeakFfdPlacement(exp)], [0, 1, -1]);
});

test('the lower bound equals a hand computation on a one-host fleet with a linear power curve', () => {
  const linear = specPowerModel('linear', [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200]);
  const exp = planetLabExperiment(
    { day: 'one', names: [], utilization: [Float64Array.from([0.5, 0.5, 0.2, 0.2, 0.2])], interval: 300 },
    { hosts: 2, hostTypes: [{ name: 'h', cores: 2, coreMips: 1000, ramMb: 4096, bw: 1_000_000, power: linear }], vmTypes: [{ name: 'v', mips: 1000, ramMb: 512, bw: 100_000 }] },
  );
  // One 1000-MIPS VM, one host needed at a time: between ticks k and k + 1 the bound is P of the
  // smaller tick demand, P(x) = 100 W + 100 W·x/2000 on the envelope of a linear curve.
  const d = demandAtTicks(exp);
  assert.equal(exp.ticks, 3);
  const p = (mips: number) => 100 + (100 * mips) / 2000;
  const lb = energyLowerBound(exp);
  const expected = (p(Math.min(d[1]!, d[2]!)) + p(Math.min(d[2]!, d[3]!))) * 300;
  assert.ok(Math.abs(lb.energyKWh * 3.6e6 - expected) < 1e-6, `${lb.energyKWh * 3.6e6} ≉ ${expected}`);
  assert.equal(lb.peakHosts, 1);
  // A static policy on one host pays the trapezoid, which is never below the bound.
  const r = runBacktest(exp, staticPeakFfdPolicy());
  assert.ok(lb.energyKWh <= r.energyKWh);
});

function assertBoundBelowAll(exp: Experiment, names: readonly string[]): Map<string, BacktestResult> {
  const lb = energyLowerBound(exp);
  const out = new Map<string, BacktestResult>();
  for (const name of names) {
    const r = runBacktest(exp, createPolicy(name));
    out.set(name, r);
    assert.ok(lb.energyKWh <= r.energyKWh, `${r.policy}: ${r.energyKWh} kWh below the lower bound ${lb.energyKWh}`);
    if (r.energyModel === 'power-model') assert.ok(lb.activeHostHours <= r.activeHostHours + 1e-9, `${r.policy}: ${r.activeHostHours} host-h below the bound ${lb.activeHostHours}`);
  }
  return out;
}

test('the lower bound is below every policy on small random fleets', () => {
  for (const seed of [7, 11, 23]) assertBoundBelowAll(smallFleet(seed), Object.keys(ALL_POLICIES));
});

const dataDir = loadConfig().dataDir;
const day = '20110303';
const dayDir = join(dataDir, 'traces', 'planetlab', day);
const noDay = existsSync(dayDir) && existsSync(defaultOrderFile(dataDir, day)) ? false : `PlanetLab ${day} is not under ${dataDir} (set NOVACRON_DATA)`;

test('on 20110303 the lower bound is below every policy, and static FFD keeps peaks within capacity', { skip: noDay }, () => {
  const exp = planetLabExperiment(loadPlanetLabDay(dayDir, defaultOrderFile(dataDir, day)).workload);
  assertPeaksFit(exp);
  const results = assertBoundBelowAll(exp, Object.keys(ALL_POLICIES));
  const ffd = results.get('static-peak-ffd')!;
  assert.equal(ffd.migrations, 0);
  assert.equal(ffd.slatah, 0);
  assert.equal(energyLowerBound(exp).energyKWh.toFixed(2), '96.40');
});
