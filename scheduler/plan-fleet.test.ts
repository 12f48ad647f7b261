import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, planFleet, type ActionPlan, type FleetSnapshot, type HostCapacity, type MigrateAction, type VmDemand } from './index.ts';

const GIB = 1024 ** 3;
const host = (hostId: string, cpuCores = 8, memGib = 32): HostCapacity => ({ hostId, cpuCores, memBytes: memGib * GIB });
const vm = (vmId: string, hostId: string, cpuCores: number, memGib = 4): VmDemand => ({ vmId, hostId, cpuCores, memBytes: memGib * GIB, source: 'ewma' });
const snap = (hosts: HostCapacity[], vms: VmDemand[]): FleetSnapshot => ({ takenAt: Date.UTC(2024, 0, 10), hosts, vms });
/** An 80 % CPU target: 6.4 of 8 cores (the figures the comments below reckon with). */
const P80 = { cpuTargetUtilization: 0.8, memTargetUtilization: 1 };

const migrations = (p: ActionPlan) => p.actions.filter((a): a is MigrateAction => a.kind === 'migrate');
const powerOffs = (p: ActionPlan) => p.actions.flatMap((a) => (a.kind === 'power-off' ? [a.hostId] : []));

/** Where every VM runs once the plan's migrations are applied in order. */
function placementAfter(s: FleetSnapshot, p: ActionPlan): Map<string, string> {
  const at = new Map(s.vms.map((v) => [v.vmId, v.hostId]));
  for (const m of migrations(p)) {
    assert.equal(at.get(m.vmId), m.fromHost, `${m.vmId} migrates from where it runs`);
    at.set(m.vmId, m.toHost);
  }
  return at;
}

test('consolidates four lightly loaded hosts onto two and powers off the emptied ones', () => {
  const hosts = ['h1', 'h2', 'h3', 'h4'].map((h) => host(h));
  const vms = hosts.flatMap((h, i) => [vm(`vm-${i}a`, h.hostId, 1), vm(`vm-${i}b`, h.hostId, 1)]);
  const s = snap(hosts, vms);
  const plan = planFleet(s, P80);
  // 8 cores of demand, 6.4 cores of target per host. Equally cheap hosts are emptied in id order onto
  // the fullest running host that fits: h1 → h2, h3 → h2 (now 6 cores); h4 no longer fits anywhere.
  assert.deepEqual([plan.hostsBefore, plan.hostsAfter, plan.hostsSaved], [4, 2, 2]);
  assert.deepEqual(powerOffs(plan), ['h1', 'h3']);
  assert.equal(migrations(plan).length, 4, 'only the VMs of the emptied hosts move');
  assert.ok(migrations(plan).every((m) => ['h1', 'h3'].includes(m.fromHost) && m.toHost === 'h2'));
  assert.deepEqual(plan.loadAfter.map((l) => [l.hostId, l.cpuCores, l.vmCount]), [['h2', 6, 6], ['h4', 2, 2]]);
  assert.deepEqual(plan.unplaced, []);
  assert.equal(plan.createdAt, s.takenAt);
  assert.deepEqual(plan.policy, P80);
  assert.deepEqual(planFleet(s).policy, DEFAULT_POLICY);
  // Migrations come before power-offs: a host is switched off only once it is empty.
  assert.deepEqual(plan.actions.map((a) => a.kind), ['migrate', 'migrate', 'migrate', 'migrate', 'power-off', 'power-off']);
});

test('keeps the most loaded host and leaves VMs in place when they fit', () => {
  const s = snap(
    [host('a'), host('b'), host('c')],
    [vm('big-1', 'b', 2), vm('big-2', 'b', 2), vm('big-3', 'b', 1), vm('x', 'a', 0.5), vm('y', 'c', 1)],
  );
  const plan = planFleet(s, P80);
  // 6.5 cores do not fit in one 6.4-core target: b (most loaded) and c stay, only a is emptied.
  assert.deepEqual([plan.hostsBefore, plan.hostsAfter, plan.hostsSaved], [3, 2, 1]);
  assert.deepEqual(migrations(plan).map((m) => [m.vmId, m.fromHost, m.toHost]), [['x', 'a', 'b']]);
  assert.deepEqual(powerOffs(plan), ['a']);
  assert.deepEqual(plan.loadAfter, [
    { hostId: 'b', cpuCores: 5.5, memBytes: 16 * GIB, cpuCapacity: 8, memCapacity: 32 * GIB, vmCount: 4 },
    { hostId: 'c', cpuCores: 1, memBytes: 4 * GIB, cpuCapacity: 8, memCapacity: 32 * GIB, vmCount: 1 },
  ]);
});

test('a fleet that cannot shrink is left alone', () => {
  const s = snap([host('h1'), host('h2')], [vm('a', 'h1', 4), vm('b', 'h2', 4)]);
  const plan = planFleet(s);
  assert.deepEqual(plan.actions, []);
  assert.deepEqual([plan.hostsBefore, plan.hostsAfter, plan.hostsSaved], [2, 2, 0]);
});

test('reasons carry the numbers a person needs to approve the action', () => {
  const s = snap([host('h1'), host('h2')], [vm('a', 'h1', 3, 8), vm('b', 'h2', 1.5, 2)]);
  const plan = planFleet(s, P80);
  const [move, off] = plan.actions;
  assert.equal(move?.kind, 'migrate');
  assert.match(move!.reason, /p90 CPU 1\.50 cores \(ewma\)/);
  assert.match(move!.reason, /2\.00 GiB/);
  assert.match(move!.reason, /h2 is being emptied so it can be powered off \(predicted p90 19% of its cores, under the 75% underload line; saves 150 W/);
  assert.match(move!.reason, /h1's predicted p90 goes from 38% to 56% of its cores \(target 80%\), memory 8\.00 → 10\.00 of 32\.00 GiB/);
  assert.match(move!.reason, /migration ≈ 1\.7 s/);
  assert.equal(off?.kind, 'power-off');
  assert.match(off!.reason, /^h2 runs no VMs after the plan \(its 1 VM\(s\) move to running hosts\); switching it off saves 150 W/);
  assert.match(off!.reason, /from 2 to 1$/);
});

test('memory counts as much as CPU', () => {
  // CPU would fit on one host, memory (32 GiB per host, no overcommit) does not.
  const s = snap([host('h1'), host('h2'), host('h3')], [vm('a', 'h1', 0.5, 20), vm('b', 'h2', 0.5, 20), vm('c', 'h3', 0.5, 10)]);
  const plan = planFleet(s, P80);
  assert.equal(plan.hostsAfter, 2);
  for (const l of plan.loadAfter) assert.ok(l.memBytes <= l.memCapacity);
});

test('an overloaded host sheds a VM that fits nowhere in vain, then a neighbour that fits', () => {
  // h1 needs 8.5 cores of its 8 now: 'huge' relieves most per second of migration but fits nowhere.
  const s = snap([host('h1'), host('h2')], [vm('huge', 'h1', 7.5), vm('small', 'h1', 1), vm('z', 'h2', 1)]);
  const plan = planFleet(s, P80);
  assert.deepEqual(plan.unplaced, ['huge']);
  assert.deepEqual(migrations(plan).map((m) => [m.vmId, m.fromHost, m.toHost]), [['small', 'h1', 'h2']]);
  assert.match(migrations(plan)[0]!.reason, /h1 is short of CPU now \(its VMs use 8\.50 of 8\.00 cores\)/);
  assert.deepEqual(powerOffs(plan), []);
  assert.deepEqual(plan.loadAfter.map((l) => [l.hostId, l.cpuCores, l.vmCount]), [['h1', 7.5, 1], ['h2', 2, 2]]);
  assert.deepEqual(plan.risk.hostsOverloaded, [], 'h1 uses 7.5 of 8 cores after the plan');
  assert.deepEqual(plan.risk.hostsOverTarget, ['h1']);
});

test('an overloaded host sheds VMs until it is back under target, waking an idle host if it must', () => {
  const s = snap([host('busy'), host('idle')], ['a', 'b', 'c', 'd'].map((id) => vm(id, 'busy', 2.2)));
  const plan = planFleet(s, P80);
  // 8.8 cores on 8: two must go for busy to be under its 6.4-core target.
  assert.deepEqual(migrations(plan).map((m) => [m.fromHost, m.toHost, m.cause]), [['busy', 'idle', 'overload'], ['busy', 'idle', 'overload']]);
  assert.deepEqual([plan.hostsBefore, plan.hostsAfter, plan.hostsSaved], [1, 2, -1]);
  assert.deepEqual(plan.loadAfter.map((l) => [l.hostId, Number(l.cpuCores.toFixed(6))]), [['busy', 4.4], ['idle', 4.4]]);
  assert.deepEqual(plan.unplaced, []);
});

test('a host short of CPU that has nowhere to shed stays overloaded and reports what did not fit', () => {
  const s = snap([host('h1'), host('h2')], [...['a', 'b', 'c', 'd'].map((id) => vm(id, 'h1', 2.2)), vm('e', 'h2', 3), vm('f', 'h2', 3)]);
  const plan = planFleet(s, P80);
  assert.deepEqual(plan.actions, []);
  assert.deepEqual(plan.unplaced, ['a', 'b', 'c', 'd']);
  assert.deepEqual(plan.risk.hostsOverloaded, ['h1']);
});

test('a host at its capacity but not over it is not relieved: the target bounds packing, not what is already there', () => {
  const s = snap([host('h1'), host('h2')], [...['a', 'b', 'c', 'd'].map((id) => vm(id, 'h1', 2)), vm('e', 'h2', 1)]);
  const plan = planFleet(s, P80);
  assert.deepEqual(migrations(plan), []);
  assert.deepEqual(plan.risk.hostsOverTarget, ['h1']);
  assert.deepEqual(plan.risk.hostsOverloaded, []);
});

test('hosts without VMs are targets but are never powered off', () => {
  const s = snap([host('h1'), host('h2'), host('spare')], [vm('a', 'h1', 1), vm('b', 'h2', 1)]);
  const plan = planFleet(s);
  // Consolidation only moves VMs onto running hosts: the spare is never woken to empty another.
  assert.deepEqual(powerOffs(plan), ['h1']);
  assert.ok(migrations(plan).every((m) => m.toHost === 'h2'));
  assert.deepEqual([plan.hostsBefore, plan.hostsAfter], [2, 1]);
});

test('no host that receives VMs ends over its target, and moves in order never overload one', () => {
  const hosts = [host('h1', 16, 64), host('h2', 8, 32), host('h3', 8, 16), host('h4', 4, 16)];
  const vms = [
    vm('v1', 'h1', 3.3, 8), vm('v2', 'h1', 2.1, 20), vm('v3', 'h2', 1.7, 6), vm('v4', 'h2', 0.9, 3),
    vm('v5', 'h3', 2.6, 5), vm('v6', 'h3', 0.4, 9), vm('v7', 'h4', 1.2, 2), vm('v8', 'h4', 0.3, 1),
  ];
  const s = snap(hosts, vms);
  const policy = { cpuTargetUtilization: 0.7, memTargetUtilization: 0.9 };
  const plan = planFleet(s, policy);
  const cap = new Map(hosts.map((h) => [h.hostId, h]));
  const load = new Map(hosts.map((h) => [h.hostId, { cpu: 0, mem: 0 }]));
  for (const v of vms) {
    load.get(v.hostId)!.cpu += v.cpuCores;
    load.get(v.hostId)!.mem += v.memBytes;
  }
  for (const m of migrations(plan)) {
    load.get(m.fromHost)!.cpu -= m.cpuCores;
    load.get(m.fromHost)!.mem -= m.memBytes;
    const to = load.get(m.toHost)!;
    to.cpu += m.cpuCores;
    to.mem += m.memBytes;
    assert.ok(to.cpu <= cap.get(m.toHost)!.cpuCores * 0.7 + 1e-9, `${m.toHost} CPU after ${m.vmId}`);
    assert.ok(to.mem <= cap.get(m.toHost)!.memBytes * 0.9 + 1, `${m.toHost} memory after ${m.vmId}`);
  }
  const at = placementAfter(s, plan);
  assert.equal(at.size, vms.length);
  assert.ok(plan.hostsAfter < plan.hostsBefore);
  for (const h of powerOffs(plan)) assert.ok(![...at.values()].includes(h), `${h} is empty`);
});

test('the same fleet, in any order, gives the identical plan', () => {
  const hosts = [host('h1'), host('h2', 16, 64), host('h3'), host('h4', 4, 8)];
  const vms = Array.from({ length: 14 }, (_, i) => vm(`vm-${i}`, hosts[i % 4]!.hostId, ((i * 37) % 11) / 5, 1 + ((i * 13) % 5)));
  const plan = planFleet(snap(hosts, vms));
  assert.deepEqual(planFleet(snap(hosts, vms)), plan);
  assert.deepEqual(planFleet(snap([...hosts].reverse(), [...vms].reverse())), plan);
});

test('inconsistent snapshots and policies are rejected with typed errors', () => {
  assert.throws(() => planFleet(snap([host('h1')], [vm('a', 'nowhere', 1)])), { code: 'SCHEDULER_INVALID_SNAPSHOT' });
  assert.throws(() => planFleet(snap([host('h1'), host('h1')], [])), { code: 'SCHEDULER_INVALID_SNAPSHOT' });
  assert.throws(() => planFleet(snap([host('h1')], [vm('a', 'h1', 1), vm('a', 'h1', 1)])), { code: 'SCHEDULER_INVALID_SNAPSHOT' });
  assert.throws(() => planFleet(snap([host('h1')], [vm('a', 'h1', Number.NaN)])), { code: 'SCHEDULER_INVALID_SNAPSHOT' });
  assert.throws(() => planFleet(snap([host('h1')], []), { cpuTargetUtilization: 0, memTargetUtilization: 1 }), { code: 'SCHEDULER_INVALID_POLICY' });
});

test('an empty fleet gives an empty plan', () => {
  const plan = planFleet(snap([], []));
  assert.deepEqual([plan.actions, plan.hostsBefore, plan.hostsAfter, plan.loadAfter, plan.unplaced], [[], 0, 0, [], []]);
});
