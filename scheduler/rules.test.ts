import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  planFleet,
  type ConsolidationPlan,
  type ConsolidationPolicy,
  type FleetSnapshot,
  type HostCapacity,
  type MigrateAction,
  type VmDemand,
} from './index.ts';

const GIB = 1024 ** 3;
const T = Date.UTC(2024, 0, 10);
const MIN = 60_000;
const host = (hostId: string, extra: Partial<HostCapacity> = {}): HostCapacity => ({ hostId, cpuCores: 8, memBytes: 32 * GIB, ...extra });
const vm = (vmId: string, hostId: string, cpuCores: number, memGib = 4, extra: Partial<VmDemand> = {}): VmDemand => ({ vmId, hostId, cpuCores, memBytes: memGib * GIB, source: 'ewma', ...extra });
const plan = (s: Omit<FleetSnapshot, 'takenAt'>, p: Partial<ConsolidationPolicy> = {}): ConsolidationPlan =>
  planFleet({ takenAt: T, ...s }, { cpuTargetUtilization: 0.8, memTargetUtilization: 1, ...p });

const migrations = (p: ConsolidationPlan) => p.actions.filter((a): a is MigrateAction => a.kind === 'migrate');
const moves = (p: ConsolidationPlan) => migrations(p).map((m) => `${m.vmId} ${m.fromHost}->${m.toHost}`);
const powerOffs = (p: ConsolidationPlan) => p.actions.flatMap((a) => (a.kind === 'power-off' ? [a.hostId] : []));

test('must-anti-affinity: consolidation never brings the VMs together', () => {
  const p = plan({ hosts: [host('h1'), host('h2'), host('h3')], vms: [vm('a', 'h1', 1), vm('b', 'h2', 1), vm('c', 'h3', 1)], vmRules: [{ kind: 'anti-affinity', strength: 'must', vms: ['a', 'b'] }] });
  // Equally cheap hosts empty in id order: a goes to h3 (not beside b); b then has nowhere to go but beside a.
  assert.deepEqual(moves(p), ['a h1->h3']);
  assert.deepEqual(powerOffs(p), ['h1']);
  assert.deepEqual(p.violations, []);
});

test('must-anti-affinity: VMs that already share a host are separated, and the reason names the rule', () => {
  const p = plan({ hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 1), vm('b', 'h1', 1), vm('c', 'h2', 1)], vmRules: [{ id: 'ha-pair', kind: 'anti-affinity', strength: 'must', vms: ['a', 'b'] }] });
  assert.deepEqual(moves(p), ['b h1->h2']);
  assert.equal(migrations(p)[0]!.cause, 'must-rule');
  assert.match(migrations(p)[0]!.reason, /it shares h1 with a \(must-anti-affinity ha-pair\)/);
  assert.deepEqual(p.violations, []);
});

test('should-anti-affinity is honoured when there is room, and reported when there is not', () => {
  const honoured = plan({ hosts: [host('h1'), host('h2'), host('h3')], vms: [vm('a', 'h1', 1), vm('b', 'h2', 1), vm('c', 'h3', 1)], vmRules: [{ kind: 'anti-affinity', strength: 'should', vms: ['a', 'c'] }] });
  // a empties h1 onto h2; c would have to join a to empty h3, and a voluntary move never breaks a should-rule.
  assert.deepEqual(moves(honoured), ['a h1->h2']);
  assert.deepEqual(honoured.violations, []);

  // c must leave maintenance host h3 and only h1 has room: it joins a, and the plan says so.
  const forced = plan({ hosts: [host('h1'), host('h2'), host('h3', { maintenance: true })], vms: [vm('a', 'h1', 1), vm('b', 'h2', 6), vm('c', 'h3', 1)], vmRules: [{ id: 'spread', kind: 'anti-affinity', strength: 'should', vms: ['a', 'c'] }] });
  assert.deepEqual(moves(forced), ['c h3->h1']);
  assert.deepEqual(forced.violations, [{ rule: 'spread', scope: 'vm', kind: 'anti-affinity', strength: 'should', vms: ['a', 'c'], hosts: ['h1'], preExisting: false }]);
  assert.equal(forced.risk.shouldViolations, 1);
});

test('should-affinity sends a moving VM to its partner when it fits there', () => {
  const s = { hosts: [host('h1'), host('h2'), host('h3')], vms: [vm('a', 'h1', 5), vm('b', 'h2', 2), vm('c', 'h3', 0.5)] };
  assert.deepEqual(moves(plan(s)).slice(0, 1), ['c h3->h1'], 'the fullest host that fits, without the rule');
  const p = plan({ ...s, vmRules: [{ kind: 'affinity', strength: 'should', vms: ['b', 'c'] }] });
  assert.deepEqual(moves(p), ['c h3->h2']);
  assert.deepEqual(p.violations, []);
});

test('must-affinity: a unit moves whole, in one wave', () => {
  const p = plan({ hosts: [host('h1'), host('h2'), host('h3')], vms: [vm('big', 'h1', 3), vm('a', 'h2', 1), vm('b', 'h2', 1), vm('c', 'h3', 0.5)], vmRules: [{ kind: 'affinity', strength: 'must', vms: ['a', 'b'] }] }, { maxConcurrentMigrations: 2 });
  // h3 is cheapest to empty (one VM), then the unit leaves h2 whole: it does not share c's wave.
  assert.deepEqual(moves(p), ['c h3->h1', 'a h2->h1', 'b h2->h1']);
  assert.deepEqual(p.waves, [[0], [1, 2]]);
  assert.match(migrations(p)[1]!.reason, /it moves with b \(must-affinity\)/);
});

test('must-affinity: a split unit is brought together; one that fits nowhere together is reported, untouched', () => {
  const fixed = plan({ hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 1), vm('b', 'h2', 1), vm('x', 'h1', 2)], vmRules: [{ kind: 'affinity', strength: 'must', vms: ['a', 'b'] }] });
  assert.deepEqual(moves(fixed), ['b h2->h1']);
  assert.equal(migrations(fixed)[0]!.cause, 'must-rule');
  assert.deepEqual(fixed.violations, []);

  const stuck = plan({ hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 4), vm('b', 'h2', 4)], vmRules: [{ id: 'pair', kind: 'affinity', strength: 'must', vms: ['a', 'b'] }] });
  assert.deepEqual(stuck.actions, []);
  assert.deepEqual(stuck.unplaced, ['a', 'b']);
  assert.deepEqual(stuck.violations, [{ rule: 'pair', scope: 'vm', kind: 'affinity', strength: 'must', vms: ['a', 'b'], hosts: ['h1', 'h2'], preExisting: true }]);
  assert.equal(stuck.risk.mustViolations, 1);
});

test('must VM-host affinity: a VM on a host outside its list moves onto it', () => {
  const p = plan({ hosts: [host('h1'), host('h2'), host('h3')], vms: [vm('a', 'h1', 1), vm('b', 'h2', 1), vm('c', 'h3', 1)], hostRules: [{ id: 'licence', vm: 'a', hosts: ['h3'], kind: 'affinity', strength: 'must' }] });
  assert.deepEqual(moves(p), ['a h1->h3', 'b h2->h3']);
  assert.match(migrations(p)[0]!.reason, /it must run on one of h3 \(must-rule licence\), not on h1/);
  assert.deepEqual(powerOffs(p), ['h1', 'h2']);
});

test('must VM-host anti-affinity: the VM never lands on a listed host', () => {
  const p = plan({ hosts: [host('h1'), host('h2'), host('h3')], vms: [vm('a', 'h1', 2), vm('b', 'h2', 1), vm('c', 'h3', 1)], hostRules: [{ vm: 'b', hosts: ['h1'], kind: 'anti-affinity', strength: 'must' }] });
  assert.ok(migrations(p).every((m) => !(m.vmId === 'b' && m.toHost === 'h1')));
  // The least loaded hosts empty first: b goes to h3 (h1 is barred), then a joins it.
  assert.deepEqual(moves(p), ['b h2->h3', 'a h1->h3']);
});

test('should VM-host affinity steers where a moving VM goes', () => {
  const p = plan({ hosts: [host('h1'), host('h2'), host('h3', { maintenance: true })], vms: [vm('a', 'h1', 2), vm('b', 'h2', 1), vm('c', 'h3', 1)], hostRules: [{ vm: 'c', hosts: ['h2'], kind: 'affinity', strength: 'should' }] });
  assert.deepEqual(moves(p).slice(0, 1), ['c h3->h2'], 'h2, not the fuller h1');
  // And a voluntary move never takes c off the host it should be on.
  const settled = plan({ hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 2), vm('c', 'h2', 1)], hostRules: [{ vm: 'c', hosts: ['h2'], kind: 'affinity', strength: 'should' }] });
  assert.deepEqual(moves(settled), ['a h1->h2']);
});

test('maintenance hosts are evacuated, receive nothing and are not powered off', () => {
  const p = plan({ hosts: [host('h1'), host('h2'), host('m', { maintenance: true })], vms: [vm('a', 'h1', 1), vm('b', 'h2', 4), vm('m1', 'm', 1), vm('m2', 'm', 1)] });
  assert.deepEqual(moves(p), ['m1 m->h2', 'm2 m->h2']);
  assert.ok(migrations(p).every((m) => m.cause === 'maintenance' && /m is in maintenance and must be evacuated/.test(m.reason)));
  assert.deepEqual(powerOffs(p), []);
  assert.deepEqual(p.risk.maintenanceNotEvacuated, []);
});

test('a maintenance host that cannot be fully evacuated is reported', () => {
  const p = plan({ hosts: [host('h1'), host('m', { maintenance: true })], vms: [vm('a', 'h1', 5), vm('m1', 'm', 1), vm('m2', 'm', 3)] });
  assert.deepEqual(moves(p), ['m1 m->h1']);
  assert.deepEqual(p.unplaced, ['m2']);
  assert.deepEqual(p.risk.maintenanceNotEvacuated, ['m']);
});

test('evacuating maintenance comes first in the migration budget', () => {
  const p = plan({ hosts: [host('h1'), host('h2'), host('m', { maintenance: true })], vms: [vm('a', 'h1', 3), vm('b', 'h2', 1), vm('m1', 'm', 1)] }, { maxMigrationsPerPlan: 1 });
  assert.deepEqual(moves(p), ['m1 m->h1']);
  assert.deepEqual(p.budget, { allowed: 1, used: 1, recentInLastHour: 0, maxConcurrent: null });
});

test('clusters: their own targets apply, and no VM leaves its cluster', () => {
  // Cluster B's target is 50% (4 of 8 cores): b1, short of CPU (9 of 8 cores), would shed z, which fits
  // no B host under 4 cores; w does, on b2, and not on a1, which has room.
  const p = plan({ hosts: [host('a1', { cluster: 'A' }), host('b1', { cluster: 'B' }), host('b2', { cluster: 'B' })], vms: [vm('x', 'a1', 1), vm('z', 'b1', 5), vm('w', 'b1', 4)] }, { clusters: { B: { cpuTargetUtilization: 0.5 } } });
  assert.deepEqual(moves(p), ['w b1->b2']);
  assert.deepEqual(p.unplaced, ['z']);
  assert.equal(migrations(p)[0]!.cause, 'overload');
  assert.match(migrations(p)[0]!.reason, /b1 is short of CPU now \(its VMs use 9\.00 of 8\.00 cores\)/);
  assert.match(migrations(p)[0]!.reason, /b2's predicted p90 goes from 0% to 50% of its cores \(target 50%\)/);
  assert.deepEqual(p.risk.hostsOverTarget, ['b1']);
  assert.deepEqual(p.risk.hostsOverloaded, []);
});

test('hysteresis: a VM moved within the window stays, and the plan works around it', () => {
  const recentMoves = [{ vmId: 'b', fromHost: 'h1', toHost: 'h2', at: T - 10 * MIN }];
  const s = { hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 2), vm('b', 'h2', 1)], recentMoves };
  assert.deepEqual(moves(plan(s)), ['a h1->h2'], 'without the window b would go back to h1');
  assert.deepEqual(moves(plan(s, { hysteresisMinutes: 5 })), ['a h1->h2'], 'h2 received b within the settle time: it is not emptied yet');
  assert.deepEqual(moves(plan(s, { hysteresisMinutes: 5, settleMinutes: 5 })), ['b h2->h1'], 'once both have passed it may');
});

test('hysteresis: a VM on an overloaded host may move again, but never back to the host it left', () => {
  const p = plan({
    hosts: [host('h1'), host('h2'), host('h3')],
    vms: [vm('a', 'h1', 1), vm('b', 'h2', 4), vm('c', 'h2', 4.5), vm('d', 'h3', 5)],
    recentMoves: [{ vmId: 'c', fromHost: 'h1', toHost: 'h2', at: T - 10 * MIN }],
  });
  // h2 is short of CPU (8.5 of 8 cores). c relieves most, but its only room is h1, which it left ten
  // minutes ago: it stays, reported, and b goes to h1 instead.
  assert.ok(!migrations(p).some((m) => m.vmId === 'c'));
  assert.deepEqual(p.unplaced, ['c']);
  assert.deepEqual(moves(p), ['b h2->h1']);
  assert.deepEqual(p.risk.hostsOverloaded, []);
});

test('hysteresis yields to maintenance: a VM moved recently still leaves a host in maintenance', () => {
  const p = plan({ hosts: [host('h1'), host('m', { maintenance: true })], vms: [vm('a', 'h1', 1), vm('b', 'm', 1)], recentMoves: [{ vmId: 'b', fromHost: 'h1', toHost: 'm', at: T - MIN }] });
  // Its only way out is back to h1, which it left a minute ago: it stays, and the plan says why.
  assert.deepEqual(p.actions, []);
  assert.deepEqual(p.unplaced, ['b']);
  assert.deepEqual(p.risk.maintenanceNotEvacuated, ['m']);
  const q = plan({ hosts: [host('h1'), host('h2'), host('m', { maintenance: true })], vms: [vm('a', 'h1', 1), vm('b', 'm', 1)], recentMoves: [{ vmId: 'b', fromHost: 'h1', toHost: 'm', at: T - MIN }] });
  assert.deepEqual(moves(q), ['b m->h2', 'a h1->h2'], 'b goes to h2, not back to h1; then h1 consolidates');
});

test('the per-plan budget buys the hosts that save most per migration, never half a host', () => {
  const p = plan({ hosts: ['h1', 'h2', 'h3', 'h4'].map((h) => host(h)), vms: [vm('a', 'h1', 2), vm('b', 'h2', 1), vm('c', 'h2', 1), vm('d', 'h3', 1), vm('e', 'h4', 0.5)] }, { maxMigrationsPerPlan: 2 });
  // h3 and h4 cost one migration each, h2 two: the cheapest (least loaded first) within the budget.
  assert.deepEqual(moves(p), ['e h4->h1', 'd h3->h1']);
  assert.deepEqual(powerOffs(p), ['h3', 'h4']);
  assert.deepEqual(p.deferred, []);
});

test('the hourly budget counts the migrations of the last hour', () => {
  const recentMoves = [
    { vmId: 'old', fromHost: 'h1', toHost: 'h2', at: T - 90 * MIN },
    { vmId: 'new', fromHost: 'h1', toHost: 'h2', at: T - 30 * MIN },
  ];
  const p = plan({ hosts: ['h1', 'h2', 'h3'].map((h) => host(h)), vms: [vm('a', 'h1', 2), vm('b', 'h2', 1), vm('c', 'h3', 1)], recentMoves }, { maxMigrationsPerHour: 2 });
  assert.equal(migrations(p).length, 1);
  assert.deepEqual(p.budget, { allowed: 1, used: 1, recentInLastHour: 1, maxConcurrent: null });
});

test('moves that must happen but exceed the budget are deferred, highest priority kept', () => {
  const p = plan(
    { hosts: [host('h1'), host('h2'), host('m', { maintenance: true })], vms: [vm('a', 'h1', 1), vm('b', 'h1', 1), vm('m1', 'm', 1), vm('m2', 'm', 2)], vmRules: [{ kind: 'anti-affinity', strength: 'must', vms: ['a', 'b'] }] },
    { maxMigrationsPerPlan: 2 },
  );
  assert.equal(migrations(p).length, 2);
  assert.ok(migrations(p).every((m) => m.cause === 'maintenance'));
  assert.deepEqual(p.deferred.map((d) => [d.vmId, d.why]), [['b', 'budget']]);
  assert.equal(p.risk.mustViolations, 1);
});

test('waves hold at most maxConcurrentMigrations, and no host both sheds and receives in one plan', () => {
  const waves = plan({ hosts: ['h1', 'h2', 'h3'].map((h) => host(h)), vms: [vm('a', 'h1', 1), vm('b', 'h2', 1), vm('c', 'h2', 1), vm('d', 'h3', 1), vm('e', 'h3', 1)] }, { maxConcurrentMigrations: 2 });
  assert.deepEqual(waves.waves, [[0, 1], [2]]);
  assert.deepEqual(migrations(waves).map((m) => m.wave), [0, 0, 1]);
  assert.ok(Math.abs(waves.risk.durationSeconds - 2 * migrations(waves)[0]!.estimatedSeconds!) < 1e-9);

  // A host that sheds in a plan receives nothing in it, so the moves may run in any order: h1 loses a
  // (a must-rule) but does not take c, which would only fit once a has left.
  const ordered = plan({ hosts: [host('h1'), host('h2'), host('h3')], vms: [vm('a', 'h1', 5), vm('b', 'h1', 1), vm('c', 'h2', 2)], hostRules: [{ vm: 'a', hosts: ['h1'], kind: 'anti-affinity', strength: 'must' }] });
  assert.deepEqual(moves(ordered), ['a h1->h3']);
  assert.deepEqual(ordered.waves, [[0]]);
});

test('a host is emptied only when the energy saved beats the cost of moving its VMs', () => {
  // Both VMs dirty memory faster than the link: each migration is the 300 s cap, ≈ 66.7 Wh.
  const s = { hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 1, 16, { dirtyRateBytesPerSec: 2e9 }), vm('b', 'h2', 2, 16, { dirtyRateBytesPerSec: 2e9 })] };
  const short = plan(s, { horizonHours: 0.25 }); // 150 W × 0.25 h = 37.5 Wh < 66.7 Wh
  assert.deepEqual(short.actions, []);
  const long = plan(s, { horizonHours: 1 }); // 150 Wh > 66.7 Wh
  assert.equal(migrations(long).length, 1);
  const off = long.actions.find((a) => a.kind === 'power-off')!;
  assert.ok(off.kind === 'power-off' && off.savedWatts! * 1 > off.migrationCostWh!);
  assert.match(off.reason, /switching it off saves \d+ W, 0\.\d\d kWh over 1 h, against 66\.67 Wh to move its VMs/);
  assert.deepEqual(long.risk.nonConverging, [migrations(long)[0]!.vmId]);
});

test('the plan states its savings and risk in numbers', () => {
  const p = plan({ hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 3.2, 8), vm('b', 'h2', 1.6, 4)] });
  assert.deepEqual(moves(p), ['b h2->h1']);
  // Linear model, 150 W idle and 400 W at 8 cores: h2 drew 150 + 250 × 0.2 = 200 W; b adds 50 W on h1.
  assert.ok(Math.abs(p.expectedSavings.watts - 150) < 1e-9);
  assert.equal(p.expectedSavings.hosts, 1);
  assert.ok(Math.abs(p.expectedSavings.kWh - 0.15) < 1e-12);
  const cost = migrations(p)[0]!.costWh!;
  assert.ok(Math.abs(p.expectedSavings.migrationCostWh - cost) < 1e-12);
  assert.ok(Math.abs(p.expectedSavings.netKWh - (0.15 - cost / 1000)) < 1e-12);
  assert.equal(p.risk.peakCpu!.hostId, 'h1');
  assert.ok(Math.abs(p.risk.peakCpu!.utilization - 0.6) < 1e-12 && p.risk.peakCpu!.target === 0.8);
  assert.deepEqual(p.risk.peakMem, { hostId: 'h1', utilization: 12 / 32, target: 1 });
  assert.deepEqual([p.risk.mustViolations, p.risk.shouldViolations, p.risk.hostsOverTarget], [0, 0, []]);
  assert.ok(Math.abs(p.risk.migrationSeconds - (4 * GIB) / 1.25e9) < 1e-9);
  assert.match(migrations(p)[0]!.reason, /migration ≈ 3\.4 s, 0\.76 Wh of degraded hosts/);
});

test("the policy's quantile decides the CPU reserved", () => {
  const s = { hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 1, 4, { cpuQuantiles: { p90: 1, p99: 3 } }), vm('b', 'h2', 1, 4, { cpuQuantiles: { p90: 1, p99: 4 } })] };
  assert.deepEqual(moves(plan(s)), ['a h1->h2'], 'at p90 (the default) both fit on one host');
  assert.deepEqual(plan(s, { cpuQuantile: 'p99' }).actions, [], 'at p99 they do not (7 > 6.4 cores)');
  // A VM without the asked quantile is reserved at the nearest higher one it has, never lower.
  const partial = plan({ hosts: [host('h1'), host('h2')], vms: [vm('a', 'h1', 1, 4, { cpuQuantiles: { 'p99.9': 6 } }), vm('b', 'h2', 1)] }, { cpuQuantile: 'p99' });
  assert.deepEqual(partial.actions, []);
});

test('invalid rules and policies are refused with typed errors', () => {
  const base = { hosts: [host('h1')], vms: [vm('a', 'h1', 1), vm('b', 'h1', 1)] };
  assert.throws(
    () => plan({ ...base, vmRules: [{ kind: 'affinity', strength: 'must', vms: ['a', 'b'] }, { kind: 'anti-affinity', strength: 'must', vms: ['a', 'b'] }] }),
    { code: 'SCHEDULER_INVALID_SNAPSHOT', message: /must share a host .* yet must not/ },
  );
  assert.throws(() => plan({ ...base, vmRules: [{ kind: 'near' as never, strength: 'must', vms: ['a', 'b'] }] }), { code: 'SCHEDULER_INVALID_SNAPSHOT' });
  assert.throws(() => plan({ ...base, recentMoves: [{ vmId: 'a', fromHost: 'h1', toHost: 'h1', at: Number.NaN }] }), { code: 'SCHEDULER_INVALID_SNAPSHOT' });
  assert.throws(() => plan({ ...base, vms: [vm('a', 'h1', 1, 4, { dirtyRateBytesPerSec: -1 })] }), { code: 'SCHEDULER_INVALID_SNAPSHOT' });
  for (const bad of [{ maxConcurrentMigrations: 0 }, { maxMigrationsPerPlan: 1.5 }, { migrationBandwidthBytesPerSec: 0 }, { hostIdleWatts: 500 }, { cpuQuantile: 'median' }, { clusters: { A: { cpuTargetUtilization: -1 } } }]) {
    assert.throws(() => plan(base, bad), { code: 'SCHEDULER_INVALID_POLICY' }, JSON.stringify(bad));
  }
});

test('rules naming VMs or hosts the snapshot does not know are harmless', () => {
  const p = plan({
    hosts: [host('h1'), host('h2')],
    vms: [vm('a', 'h1', 1), vm('b', 'h2', 1)],
    vmRules: [{ kind: 'anti-affinity', strength: 'must', vms: ['a', 'ghost'] }],
    hostRules: [{ vm: 'ghost', hosts: ['h1'], kind: 'affinity', strength: 'must' }, { vm: 'b', hosts: ['h1', 'gone'], kind: 'affinity', strength: 'must' }],
  });
  assert.deepEqual(moves(p), ['b h2->h1']);
  assert.deepEqual(p.violations, []);
});
