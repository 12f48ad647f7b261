import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planFleet, type ActionPlan, type ConsolidationPolicy, type FleetSnapshot, type MigrateAction } from './index.ts';
import { shuffle } from '../test/support/shuffle.ts';

const GIB = 1024 ** 3;
// Looser than the planner's own tolerance: this file sums loads in a different order.
const within = (load: number, cap: number) => load <= cap * (1 + 1e-6) + 1e-9;

const policyArb = fc.record({
  cpuTargetUtilization: fc.double({ min: 0.3, max: 1, noNaN: true }),
  memTargetUtilization: fc.double({ min: 0.5, max: 1.2, noNaN: true }),
});

const hostArb = fc.record({ cpu: fc.constantFrom(2, 4, 8, 16, 32), memGib: fc.constantFrom(4, 8, 16, 64) });

/** Any fleet: hosts may start over target, VMs may be too big for every host. */
const fleetArb = fc
  .record({
    hosts: fc.array(hostArb, { minLength: 1, maxLength: 8 }),
    vms: fc.array(fc.record({ host: fc.nat(), cpu: fc.double({ min: 0, max: 6, noNaN: true }), memGib: fc.double({ min: 0, max: 24, noNaN: true }) }), { maxLength: 30 }),
    policy: policyArb,
  })
  .map(({ hosts, vms, policy }) => ({
    policy,
    snapshot: {
      takenAt: 1_700_000_000_000,
      hosts: hosts.map((h, i) => ({ hostId: `h${i}`, cpuCores: h.cpu, memBytes: h.memGib * GIB })),
      vms: vms.map((v, i) => ({ vmId: `vm${i}`, hostId: `h${v.host % hosts.length}`, cpuCores: v.cpu, memBytes: Math.round(v.memGib * GIB) })),
    } satisfies FleetSnapshot,
  }));

/** Fleets whose current placement already respects the policy: every VM fits where it is. */
const feasibleFleetArb = fc
  .record({
    hosts: fc.array(
      fc.record({ size: hostArb, fill: fc.double({ min: 0, max: 1, noNaN: true }), vms: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 6 }) }),
      { minLength: 1, maxLength: 8 },
    ),
    policy: policyArb,
  })
  .map(({ hosts, policy }) => {
    const vms: FleetSnapshot['vms'] = [];
    hosts.forEach((h, i) => {
      const cpuSum = h.vms.reduce((s, [c]) => s + c, 0);
      const memSum = h.vms.reduce((s, [, m]) => s + m, 0);
      // Scale each host's VMs to `fill` of its target in both dimensions (rounded down).
      h.vms.forEach(([c, m], j) => {
        vms.push({
          vmId: `vm${i}-${j}`,
          hostId: `h${i}`,
          cpuCores: cpuSum > 0 ? ((c / Math.max(1, cpuSum)) * h.fill * h.size.cpu * policy.cpuTargetUtilization) * (1 - 1e-12) : 0,
          memBytes: memSum > 0 ? Math.floor((m / Math.max(1, memSum)) * h.fill * h.size.memGib * GIB * policy.memTargetUtilization * (1 - 1e-12)) : 0,
        });
      });
    });
    return {
      policy,
      snapshot: { takenAt: 1_700_000_000_000, hosts: hosts.map((h, i) => ({ hostId: `h${i}`, cpuCores: h.size.cpu, memBytes: h.size.memGib * GIB })), vms } satisfies FleetSnapshot,
    };
  });

/** Checks every invariant of a plan against its input. */
function checkPlan(snapshot: FleetSnapshot, policy: ConsolidationPolicy, plan: ActionPlan): void {
  const cap = new Map(snapshot.hosts.map((h) => [h.hostId, { cpu: h.cpuCores * policy.cpuTargetUtilization, mem: h.memBytes * policy.memTargetUtilization }]));
  const load = new Map(snapshot.hosts.map((h) => [h.hostId, { cpu: 0, mem: 0, count: 0 }]));
  const at = new Map<string, string>();
  for (const v of snapshot.vms) {
    const l = load.get(v.hostId)!;
    l.cpu += v.cpuCores;
    l.mem += v.memBytes;
    l.count += 1;
    at.set(v.vmId, v.hostId);
  }
  const demand = new Map(snapshot.vms.map((v) => [v.vmId, v]));
  const moved = new Set<string>();
  const lost = new Set<string>();
  const migrations = plan.actions.filter((a): a is MigrateAction => a.kind === 'migrate');
  const firstPowerOff = plan.actions.findIndex((a) => a.kind === 'power-off');
  if (firstPowerOff >= 0) assert.ok(plan.actions.slice(firstPowerOff).every((a) => a.kind === 'power-off'), 'power-offs come last');

  // Executed in order, every migration lands on a host that stays within its target.
  for (const m of migrations) {
    assert.ok(!moved.has(m.vmId), `${m.vmId} migrates once`);
    moved.add(m.vmId);
    assert.equal(at.get(m.vmId), m.fromHost);
    assert.notEqual(m.fromHost, m.toHost);
    const v = demand.get(m.vmId)!;
    assert.deepEqual([m.cpuCores, m.memBytes], [v.cpuCores, v.memBytes]);
    const from = load.get(m.fromHost)!;
    from.cpu -= v.cpuCores;
    from.mem -= v.memBytes;
    from.count -= 1;
    lost.add(m.fromHost);
    const to = load.get(m.toHost)!;
    to.cpu += v.cpuCores;
    to.mem += v.memBytes;
    to.count += 1;
    assert.ok(within(to.cpu, cap.get(m.toHost)!.cpu) && within(to.mem, cap.get(m.toHost)!.mem), `${m.toHost} within target after receiving ${m.vmId}`);
    at.set(m.vmId, m.toHost);
  }

  // Every VM is assigned exactly once, to a host of the snapshot.
  assert.equal(at.size, snapshot.vms.length);
  const initialCount = new Map<string, number>();
  for (const v of snapshot.vms) initialCount.set(v.hostId, (initialCount.get(v.hostId) ?? 0) + 1);

  const running = [...load].filter(([, l]) => l.count > 0).map(([h]) => h).sort();
  assert.deepEqual(plan.loadAfter.map((l) => l.hostId), running);
  for (const l of plan.loadAfter) {
    const mine = load.get(l.hostId)!;
    assert.equal(l.vmCount, mine.count);
    assert.ok(Math.abs(l.cpuCores - mine.cpu) <= 1e-9 * Math.max(1, mine.cpu));
    assert.ok(Math.abs(l.memBytes - mine.mem) <= 1e-6 * Math.max(1, mine.mem));
  }
  assert.equal(plan.hostsBefore, initialCount.size);
  assert.equal(plan.hostsAfter, running.length);
  assert.equal(plan.hostsSaved, plan.hostsBefore - plan.hostsAfter);

  // Exactly the hosts the plan empties are powered off.
  const powered = plan.actions.flatMap((a) => (a.kind === 'power-off' ? [a.hostId] : []));
  const emptied = [...initialCount.keys()].filter((h) => load.get(h)!.count === 0).sort();
  assert.deepEqual([...powered].sort(), emptied);

  // Unplaced VMs stay put and truly found no room on a host that only gained VMs or kept what it had
  // (a host that sheds VMs in a plan receives none, so the moves can run in any order).
  for (const id of plan.unplaced) {
    const v = demand.get(id)!;
    assert.ok(!moved.has(id));
    assert.ok(!powered.includes(v.hostId));
    for (const [h, l] of load) {
      if (h === v.hostId || lost.has(h)) continue;
      const c = cap.get(h)!;
      const clearlyFits = l.cpu + v.cpuCores < c.cpu * (1 - 1e-6) && l.mem + v.memBytes < c.mem * (1 - 1e-6);
      assert.ok(!clearlyFits, `${id} would fit on ${h}`);
    }
  }
}

test('property: every plan respects targets, assigns each VM once and powers off only emptied hosts', () => {
  fc.assert(
    fc.property(fleetArb, ({ snapshot, policy }) => {
      checkPlan(snapshot, policy, planFleet(snapshot, policy));
    }),
    { numRuns: 400 },
  );
});

test('property: the same input, in any order, gives the identical plan', () => {
  fc.assert(
    fc.property(fleetArb, fc.integer(), ({ snapshot, policy }, seed) => {
      const plan = planFleet(snapshot, policy);
      assert.deepEqual(planFleet(structuredClone(snapshot), { ...policy }), plan);
      const permuted = { ...snapshot, hosts: shuffle(snapshot.hosts, seed), vms: shuffle(snapshot.vms, seed + 1) };
      assert.deepEqual(planFleet(permuted, policy), plan);
    }),
    { numRuns: 200 },
  );
});

test('property: when every VM fits where it runs, nothing is unplaced and no host is added', () => {
  fc.assert(
    fc.property(feasibleFleetArb, ({ snapshot, policy }) => {
      const plan = planFleet(snapshot, policy);
      checkPlan(snapshot, policy, plan);
      assert.deepEqual(plan.unplaced, []);
      assert.ok(plan.hostsAfter <= plan.hostsBefore, `${plan.hostsAfter} > ${plan.hostsBefore}`);
      // Nothing can be lost by planning: a plan that saves no host moves nothing.
      if (plan.hostsSaved === 0) assert.equal(plan.actions.length, 0);
    }),
    { numRuns: 400 },
  );
});
