import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../core/index.ts';
import { planetLabExperiment, type Experiment, type HostType, type VmType } from './experiment.ts';
import { plannerPolicy } from './planner-policy.ts';
import { cloudSimPolicy, dvfsPolicy, nonPowerAwarePolicy } from './policies.ts';
import { staticThreshold, localRegression } from './overload.ts';
import type { BacktestPolicy, Migration, TickView } from './policy.ts';
import { specPowerModel } from './power.ts';
import { runBacktest, type BacktestResult } from './simulator.ts';
import type { Workload } from './workload.ts';

const close = (a: number, b: number, what: string, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${what}: ${a} ≉ ${b}`);

/** P(u) = 100 + 100·u W, so energies are easy to compute by hand. */
const LINEAR = specPowerModel('linear 100-200 W', [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200]);
const HOST: HostType = { name: 'test host', cores: 2, coreMips: 1000, ramMb: 4096, bw: 1_000_000, power: LINEAR };
/** 625 MB migrates in exactly 10 s at 62.5 MB/s. */
const VM: VmType = { name: 'test vm', mips: 1000, ramMb: 625, bw: 100_000 };

function tiny(percents: number[][], hosts: number): Experiment {
  const utilization = percents.map((p) => Float64Array.from([...p, p.at(-1)!], (x) => x / 100));
  const workload: Workload = { day: 'tiny', names: percents.map((_, i) => `vm${i}`), utilization, interval: 300 };
  return planetLabExperiment(workload, { hosts, hostTypes: [HOST], vmTypes: [VM] });
}

/** A policy with a fixed initial placement and a scripted plan per tick. */
function scripted(placement: number[], plans: Record<number, Migration[]> = {}): BacktestPolicy {
  return {
    name: 'scripted',
    energyModel: 'power-model',
    placeInitial: () => Int32Array.from(placement),
    plan: (view) => plans[view.tick] ?? [],
  };
}

test('a static fleet: energy is the trapezoid of host power between ticks, from the first tick on', () => {
  // 4 samples → ticks at 300.1, 600.1, 900.1. One VM at 50 % of 1000 MIPS on a 2000-MIPS host: U = 0.25, 125 W.
  const exp = tiny([[50, 50, 50, 50]], 2);
  assert.equal(exp.ticks, 3);
  const r = runBacktest(exp, scripted([0]));
  close(r.energyKWh * 3.6e6, 125 * 600, 'energy J');
  assert.equal(r.migrations, 0);
  assert.equal(r.slatah, 0);
  assert.equal(r.pdm, 0);
  // Host 1 never runs anything: idle at its first entry counts as one shutdown (CloudSim quirk).
  assert.equal(r.hostShutdowns, 1);
  close(r.activeHostHours * 3600, 600, 'active host seconds');
  const npa = runBacktest(exp, nonPowerAwarePolicy());
  close(npa.energyKWh * 3.6e6, 2 * 200 * 900.1, 'NPA charges max power to the last tick');
});

test('one migration: energy, SLATAH, PDM, SLAV and the other metrics match a hand computation', () => {
  // Two hosts, one VM each at 50 % (500 MIPS). At tick 1 VM 0 moves to host 1 and takes 10 s.
  const exp = tiny([[50, 50, 50, 50], [50, 50, 50, 50]], 2);
  const r = runBacktest(exp, scripted([0, 1], { 1: [{ vm: 0, target: 1, reason: 'test' }] }));
  assert.equal(r.migrations, 1);
  assert.deepEqual(r.migrationsByReason, { test: 1 });
  close(r.lastEventTime, 900.1, 'last event');
  // (300.1, 310.1]: host 0 at U = 0.25 (125 W); host 1 carries VM 1 plus 10 % of VM 0: U = 0.275 (127.5 W).
  // After 310.1 host 0 is off and host 1 runs both VMs at U = 0.5 (150 W) for 590 s.
  close(r.energyKWh * 3.6e6, 125 * 10 + 127.5 * 10 + 150 * 590, 'energy J');
  // Host 1 receives VM 0 for 10 s (allocated 550 < requested 1000); active host time 10 + 600.
  close(r.slatah, 10 / 610, 'SLATAH');
  // VM 0 gets 450 of 500 MIPS for 10 s while migrating; both VMs request 500 MIPS for 600 s.
  close(r.pdm, (50 * 10) / (2 * 500 * 600), 'PDM');
  close(r.slav, (10 / 610) * ((50 * 10) / (2 * 500 * 600)), 'SLAV');
  close(r.overallSlaViolation, (50 * 10) / (2 * 500 * 600), 'overall SLA violation');
  close(r.averageSlaViolation, 0.1, 'average SLA violation');
  assert.equal(r.hostShutdowns, 1);
  close(r.meanTimeBeforeHostShutdown, 310.1, 'time before shutdown');
  close(r.meanMigrationTime, 10, 'migration time');
});

test('a VM whose demand reaches exactly 0 leaves for good at the first tick with d[k] = d[k+1] = 0', () => {
  const exp = tiny([[50, 50, 0, 0, 0, 40], [30, 30, 30, 30, 30, 30]], 2);
  const r = runBacktest(exp, scripted([0, 1]));
  assert.equal(r.finishedVms, 1);
  // VM 0 runs until tick 2 (600.1 s): u(300.1) = 0.5 − 0.5/3000; at 600.1 it requests 0 and is gone.
  const u1 = 0.5 + (0 - 0.5) / 3000;
  const p = (u: number) => 100 + 100 * u;
  const host0 = ((p((u1 * 1000) / 2000) + p(0)) / 2) * 300;
  const host1 = p(0.15) * 300 * 4; // ticks 300.1 … 1500.1
  close(r.energyKWh * 3.6e6, host0 + host1, 'energy J', 1e-6);
});

test('a VM planned twice in one tick is migrated twice and ends on the second target (CloudSim quirk)', () => {
  const exp = tiny([[40, 40, 40, 40], [10, 10, 10, 10], [10, 10, 10, 10]], 3);
  const seen: number[][] = [];
  const policy: BacktestPolicy = {
    ...scripted([0, 1, 2], { 1: [{ vm: 0, target: 1 }, { vm: 0, target: 2 }] }),
    plan(view: TickView) {
      seen.push([...view.vmHost]);
      return view.tick === 1 ? [{ vm: 0, target: 1 }, { vm: 0, target: 2 }] : [];
    },
  };
  const r = runBacktest(exp, policy);
  assert.equal(r.migrations, 2);
  assert.deepEqual(seen[1], [2, 1, 2], 'at tick 2 VM 0 runs on host 2');
  close(r.meanMigrationTime, 10, 'one 10 s transfer');
});

test('an invalid plan is a typed error', () => {
  const exp = tiny([[50, 50, 50, 50]], 2);
  assert.throws(() => runBacktest(exp, scripted([0], { 1: [{ vm: 0, target: 0 }] })), (e) => hasCode(e, 'BACKTEST_PLAN_INVALID'));
  assert.throws(() => runBacktest(exp, scripted([0], { 1: [{ vm: 0, target: 7 }] })), (e) => hasCode(e, 'BACKTEST_PLAN_INVALID'));
  assert.throws(() => runBacktest(exp, scripted([0], { 1: [{ vm: 3, target: 1 }] })), (e) => hasCode(e, 'BACKTEST_PLAN_INVALID'));
});

/** A reproducible pseudo-random day: each VM a bounded random walk in percent. */
function randomDay(vms: number, samples: number, seed: number): number[][] {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: vms }, () => {
    let x = Math.floor(rand() * 60);
    return Array.from({ length: samples }, () => (x = Math.max(0, Math.min(99, x + Math.round((rand() - 0.5) * 20)))));
  });
}

function withoutRuntime(r: BacktestResult): Omit<BacktestResult, 'runtimeMs'> {
  const { runtimeMs: _, ...rest } = r;
  return rest;
}

test('runs are deterministic: same experiment and policy, identical results', () => {
  const exp = planetLabExperiment({ day: 'random', names: [], utilization: randomDay(120, 48, 7).map((p) => Float64Array.from([...p, p.at(-1)!], (x) => x / 100)), interval: 300 }, { hosts: 60 });
  for (const make of [dvfsPolicy, () => cloudSimPolicy('THR-MMT 0.8', staticThreshold(0.8)), () => cloudSimPolicy('LR-MMT 1.2', localRegression(1.2)), () => plannerPolicy()]) {
    const a = runBacktest(exp, make());
    const b = runBacktest(exp, make());
    assert.deepEqual(withoutRuntime(a), withoutRuntime(b), a.policy);
    if (a.policy !== 'DVFS') assert.ok(a.migrations > 0, `${a.policy} moved something`);
  }
});

test('our policy never looks ahead: changing samples after tick k + 1 leaves its plans up to tick k unchanged', () => {
  const days = randomDay(120, 48, 11);
  const k = 20;
  // u(t_k) reads 1/3000 of sample k + 1 (CloudSim's interpolation), so samples from k + 2 on are the future.
  const altered = days.map((p) => p.map((x, i) => (i >= k + 2 ? 99 - x : x)));
  const plansOf = (percents: number[][]) => {
    const exp = planetLabExperiment({ day: 'random', names: [], utilization: percents.map((p) => Float64Array.from([...p, p.at(-1)!], (x) => x / 100)), interval: 300 }, { hosts: 60 });
    const inner = plannerPolicy();
    const plans: string[] = [];
    runBacktest(exp, { ...inner, plan: (view) => { const p = inner.plan(view); plans.push(JSON.stringify(p)); return p; } });
    return plans;
  };
  const a = plansOf(days);
  const b = plansOf(altered);
  assert.deepEqual(a.slice(0, k), b.slice(0, k));
  assert.notDeepEqual(a, b, 'the future does change later plans');
});
