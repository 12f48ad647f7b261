import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFleet, type ConsolidationPlan, type FleetSnapshot, type HostCapacity, type MigrateAction, type VmDemand } from './index.ts';

// planFleet forecasts VMs that carry a history itself (models' next-interval forecaster): these
// tests check that the forecast, not just the latest sample, drives the decisions.
const GIB = 1024 ** 3;
const T = Date.UTC(2024, 0, 10);
const MIN = 60_000;
const host = (hostId: string, extra: Partial<HostCapacity> = {}): HostCapacity => ({ hostId, cpuCores: 8, memBytes: 64 * GIB, ...extra });
const vm = (vmId: string, hostId: string, history: number[], extra: Partial<VmDemand> = {}): VmDemand => ({ vmId, hostId, cpuCores: history.at(-1)!, cpuHistory: history, memBytes: 4 * GIB, vcpus: 8, ...extra });
const plan = (s: Omit<FleetSnapshot, 'takenAt'>): ConsolidationPlan => planFleet({ takenAt: T, stepSeconds: 300, ...s });
const moves = (p: ConsolidationPlan) => p.actions.filter((a): a is MigrateAction => a.kind === 'migrate').map((m) => `${m.vmId} ${m.fromHost}->${m.toHost}`);

/** 61 samples around `level`, alternating ± `swing` (each VM its own phase when `phase` differs). */
const wobble = (level: number, swing: number, phase = 0) => Array.from({ length: 61 }, (_, i) => level + ((i + phase) % 2 === 0 ? swing : -swing));

test('a volatile VM reserves more than a steady one of the same level: it does not fit where the steady one does', () => {
  // h1 runs 5.5 steady cores; 1.5 more fits under 97 % of 8 only if it is steady.
  const base = [vm('big', 'h1', wobble(5.5, 0))];
  const steady = plan({ hosts: [host('h1'), host('h2')], vms: [...base, vm('x', 'h2', wobble(1.5, 0))] });
  assert.deepEqual(moves(steady), ['x h2->h1']);
  const volatile = plan({ hosts: [host('h1'), host('h2')], vms: [...base, vm('x', 'h2', wobble(1.5, 1.2))] });
  assert.deepEqual(moves(volatile), [], 'its spread pushes h1 over target');
  assert.match(steady.actions[0]!.reason, /next-interval forecast of 61 samples/);
});

test('VMs that peak together count as such: their summed errors set the host\'s spread', () => {
  // Three VMs swinging ±0.6 in phase: independent they would add √3·σ, together 3σ.
  const together = [0, 1, 2].map((i) => vm(`a${i}`, 'h2', wobble(0.8, 0.6)));
  const apart = [0, 1, 2].map((i) => vm(`a${i}`, 'h2', wobble(0.8, 0.6, i === 1 ? 1 : 0)));
  const hosts = [host('h1'), host('h2')];
  // 'big' moved to h1 40 minutes ago (hysteresis keeps it, so h1 is the one kept).
  const recentMoves = [{ vmId: 'big', fromHost: 'h9', toHost: 'h1', at: T - 40 * MIN }];
  const base = vm('big', 'h1', wobble(3.5, 0));
  // Apart, the swings partly cancel and h2 empties onto h1; in phase, they would not fit.
  assert.equal(moves(plan({ hosts, vms: [base, ...apart], recentMoves })).length, 3);
  assert.deepEqual(moves(plan({ hosts, vms: [base, ...together], recentMoves })), []);
});

test('a host is relieved when its median forecast exceeds capacity, even if it is not short right now', () => {
  // Level rising to ~8.6 cores on an 8-core host; the latest sample dips to 7.5.
  const rising: number[] = Array.from({ length: 61 }, (_, i) => (i < 40 ? 4 : 8.8));
  rising[60] = 7.5;
  const p = plan({ hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', rising.map((x) => x / 2)), vm('b', 'h1', rising.map((x) => x / 2)), vm('c', 'h2', wobble(1, 0))] });
  assert.equal(moves(p).length, 1);
  assert.match(p.actions[0]!.reason, /h1 is predicted short of CPU \(p50 of its next-interval demand \d+% of its cores\)/);
});

test('VMs go to the most efficient class of host first, then the fullest host of it', () => {
  // Same cores, but 'eff' draws 250 W at full load against 400 W: moving x there beats the fuller 'hot'.
  const hosts = [host('hot'), host('eff', { idleWatts: 100, maxWatts: 250 }), host('src')];
  const p = plan({ hosts, vms: [vm('a', 'hot', wobble(5, 0)), vm('b', 'eff', wobble(1, 0)), vm('x', 'src', wobble(1, 0))] });
  assert.deepEqual(moves(p).slice(0, 1), ['x src->eff']);
});

test('a VM that needs more than one core of its host (vCPUs × core capacity) moves to a host with faster cores', () => {
  const hosts = [host('slow', { cpuCores: 4, coreCapacity: 1 }), host('fast', { cpuCores: 4, coreCapacity: 2 })];
  const p = plan({ hosts, vms: [vm('one', 'slow', wobble(1.5, 0), { vcpus: 1 }), vm('z', 'fast', wobble(1, 0))] });
  assert.deepEqual(moves(p), ['one slow->fast']);
  assert.match(p.actions[0]!.reason, /needs more CPU than its vCPUs get from slow's cores/);
});

test('a host that received a VM within the settle time is not emptied; after it, it may be', () => {
  const s = { hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', wobble(2, 0)), vm('b', 'h2', wobble(1, 0))] };
  assert.deepEqual(moves(plan(s)), ['b h2->h1']);
  const received = { vmId: 'other', fromHost: 'h9', toHost: 'h2', at: T - 10 * MIN };
  assert.deepEqual(moves(plan({ ...s, recentMoves: [received] })), ['a h1->h2'], 'h2 settles, so h1 is emptied instead');
  assert.deepEqual(moves(plan({ ...s, recentMoves: [{ ...received, at: T - 40 * MIN }] })), ['b h2->h1']);
});
