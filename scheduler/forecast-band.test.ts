import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forecastBands, planFleet, type FleetSnapshot, type MigrateAction, type VmDemand } from './index.ts';

const GIB = 1024 ** 3;
const T = Date.UTC(2024, 0, 10);
/** 61 samples around `level`, alternating ± `swing`. */
const wobble = (level: number, swing: number) => Array.from({ length: 61 }, (_, i) => level + (i % 2 === 0 ? swing : -swing));
const vm = (vmId: string, hostId: string, history: number[], extra: Partial<VmDemand> = {}): VmDemand => ({ vmId, hostId, cpuCores: history.at(-1)!, cpuHistory: history, memBytes: 4 * GIB, vcpus: 8, ...extra });

// Two lightly loaded hosts: the planner empties one, so some VMs move.
const snapshot: FleetSnapshot = {
  takenAt: T,
  stepSeconds: 300,
  hosts: [{ hostId: 'h1', cpuCores: 16, memBytes: 64 * GIB }, { hostId: 'h2', cpuCores: 16, memBytes: 64 * GIB }],
  vms: [vm('a', 'h1', wobble(1, 0.3)), vm('b', 'h1', wobble(2, 0.05)), vm('c', 'h2', wobble(0.5, 0.4)), vm('d', 'h2', wobble(1.5, 0.1))],
};

test('bands are ordered p50 ≤ p90 ≤ p99 and wider for the volatile VM', () => {
  const bands = new Map(forecastBands(snapshot).map((b) => [b.vmId, b]));
  for (const b of bands.values()) assert.ok(b.quantiles.p50! <= b.quantiles.p90! && b.quantiles.p90! <= b.quantiles.p99!, b.vmId);
  const width = (id: string) => bands.get(id)!.quantiles.p99! - bands.get(id)!.quantiles.p50!;
  assert.ok(width('c') > width('b'), `c swings ±0.4, b ±0.05: ${width('c')} vs ${width('b')}`);
  assert.match(bands.get('a')!.method, /next-interval forecast of 61 samples/);
});

test("a moved VM's p90 is the cpuCores of its migrate action (the quantile the planner packs on)", () => {
  const plan = planFleet(snapshot);
  const moves = plan.actions.filter((a): a is MigrateAction => a.kind === 'migrate');
  assert.ok(moves.length > 0, 'the fixture consolidates');
  const bands = new Map(forecastBands(snapshot).map((b) => [b.vmId, b]));
  for (const m of moves) assert.equal(bands.get(m.vmId)!.quantiles.p90, m.cpuCores);
});

test('the input order does not change a band (the planner sorts by id too), and a VM without history keeps its stated figures', () => {
  const permuted = { ...snapshot, vms: [...snapshot.vms].reverse() };
  assert.deepEqual(forecastBands(permuted), forecastBands(snapshot));
  const stated = forecastBands({ ...snapshot, vms: [...snapshot.vms, { vmId: 'new', hostId: 'h1', cpuCores: 1, memBytes: GIB, cpuQuantiles: { p50: 1, p90: 2, p99: 3 } }] });
  assert.deepEqual(stated.find((b) => b.vmId === 'new')!.quantiles, { p50: 1, p90: 2, p99: 3 });
});

test('an invalid quantile key is refused with the policy error', () => {
  assert.throws(() => forecastBands(snapshot, undefined, ['p50', 'median']), (e: Error & { code?: string }) => e.code === 'SCHEDULER_INVALID_POLICY' && /median/.test(e.message));
});
