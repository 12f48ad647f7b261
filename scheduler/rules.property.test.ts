import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planFleet, type ConsolidationPlan, type ConsolidationPolicy, type FleetSnapshot, type MigrateAction, type VmAffinityRule } from './index.ts';
import { shuffle } from '../test/support/shuffle.ts';

const GIB = 1024 ** 3;
const T = 1_700_000_000_000;
const MIN = 60_000;
// Looser than the planner's own tolerance: this file sums loads in a different order.
const within = (load: number, cap: number) => load <= cap * (1 + 1e-6) + 1e-9;

/** Hosts, VMs, rules, maintenance, clusters, recent moves and budgets, all random. */
const caseArb = fc
  .record({
    hosts: fc.array(
      fc.record({ cpu: fc.constantFrom(2, 4, 8, 16), memGib: fc.constantFrom(8, 16, 64), cluster: fc.constantFrom(undefined, undefined, 'A', 'B'), m: fc.nat(6) }),
      { minLength: 1, maxLength: 8 },
    ),
    vms: fc.array(
      fc.record({ host: fc.nat(), cpu: fc.double({ min: 0, max: 5, noNaN: true }), p99: fc.option(fc.double({ min: 0, max: 6, noNaN: true })), memGib: fc.double({ min: 0, max: 20, noNaN: true }), dirty: fc.constantFrom(0, 0, 2e8, 2e9) }),
      { maxLength: 24 },
    ),
    vmRules: fc.array(fc.record({ kind: fc.constantFrom('affinity' as const, 'anti-affinity' as const), strength: fc.constantFrom('must' as const, 'should' as const), vms: fc.array(fc.nat(), { minLength: 2, maxLength: 3 }) }), { maxLength: 4 }),
    hostRules: fc.array(fc.record({ vm: fc.nat(), hosts: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), kind: fc.constantFrom('affinity' as const, 'anti-affinity' as const), strength: fc.constantFrom('must' as const, 'should' as const) }), { maxLength: 3 }),
    recent: fc.array(fc.record({ vm: fc.nat(), from: fc.nat(), minutesAgo: fc.nat(120) }), { maxLength: 5 }),
    policy: fc.record({
      cpuTargetUtilization: fc.double({ min: 0.3, max: 1, noNaN: true }),
      memTargetUtilization: fc.double({ min: 0.5, max: 1.2, noNaN: true }),
      clusterA: fc.constantFrom(undefined, 0.5, 0.9),
      cpuQuantile: fc.constantFrom(undefined, 'p99'),
      maxMigrationsPerPlan: fc.constantFrom(undefined, 0, 1, 3, 8),
      maxConcurrentMigrations: fc.constantFrom(undefined, 1, 2, 3),
      maxMigrationsPerHour: fc.constantFrom(undefined, 2, 6),
      hysteresisMinutes: fc.constantFrom(undefined, 0, 30, 90),
      horizonHours: fc.constantFrom(undefined, 0, 0.001, 24),
    }),
  })
  .map(({ hosts, vms, vmRules, hostRules, recent, policy: p }) => {
    const hostId = (i: number) => `h${i % hosts.length}`;
    const vmId = (i: number) => `vm${i % Math.max(1, vms.length)}`;
    const snapshot: FleetSnapshot = {
      takenAt: T,
      hosts: hosts.map((h, i) => ({ hostId: `h${i}`, cpuCores: h.cpu, memBytes: h.memGib * GIB, ...(h.cluster ? { cluster: h.cluster } : {}), ...(h.m === 0 ? { maintenance: true } : {}) })),
      vms: vms.map((v, i) => ({ vmId: `vm${i}`, hostId: hostId(v.host), cpuCores: v.cpu, memBytes: Math.round(v.memGib * GIB), ...(v.dirty ? { dirtyRateBytesPerSec: v.dirty } : {}), ...(v.p99 !== null ? { cpuQuantiles: { p99: v.p99 } } : {}) })),
      vmRules: vms.length === 0 ? [] : sane(vmRules.map((r) => ({ ...r, vms: r.vms.map(vmId) }))),
      hostRules: vms.length === 0 ? [] : hostRules.map((r) => ({ ...r, vm: vmId(r.vm), hosts: r.hosts.map(hostId) })),
      recentMoves: vms.length === 0 ? [] : recent.map((r) => {
        const v = vmId(r.vm);
        return { vmId: v, fromHost: hostId(r.from), toHost: `h${vms[Number(v.slice(2))]!.host % hosts.length}`, at: T - r.minutesAgo * MIN };
      }),
    };
    const policy: ConsolidationPolicy = {
      cpuTargetUtilization: p.cpuTargetUtilization,
      memTargetUtilization: p.memTargetUtilization,
      ...(p.clusterA !== undefined ? { clusters: { A: { cpuTargetUtilization: p.clusterA } } } : {}),
      ...(p.cpuQuantile !== undefined ? { cpuQuantile: p.cpuQuantile } : {}),
      ...(p.maxMigrationsPerPlan !== undefined ? { maxMigrationsPerPlan: p.maxMigrationsPerPlan } : {}),
      ...(p.maxConcurrentMigrations !== undefined ? { maxConcurrentMigrations: p.maxConcurrentMigrations } : {}),
      ...(p.maxMigrationsPerHour !== undefined ? { maxMigrationsPerHour: p.maxMigrationsPerHour } : {}),
      ...(p.hysteresisMinutes !== undefined ? { hysteresisMinutes: p.hysteresisMinutes } : {}),
      ...(p.horizonHours !== undefined ? { horizonHours: p.horizonHours } : {}),
    };
    return { snapshot, policy };
  });

/** Drops must-anti-affinity rules between VMs a must-affinity binds together (the planner refuses such input). */
function sane(rules: VmAffinityRule[]): VmAffinityRule[] {
  const unit = unitsOf(rules);
  return rules.filter((r) => {
    if (r.kind !== 'anti-affinity' || r.strength !== 'must') return true;
    const seen = new Set<string>();
    for (const v of new Set(r.vms)) {
      const u = unit(v);
      if (seen.has(u)) return false;
      seen.add(u);
    }
    return true;
  });
}

/** Must-affinity units: each VM's representative. */
function unitsOf(rules: readonly VmAffinityRule[]): (vm: string) => string {
  const parent = new Map<string, string>();
  const find = (x: string): string => (parent.get(x) === undefined || parent.get(x) === x ? x : find(parent.get(x)!));
  for (const r of rules) {
    if (r.kind !== 'affinity' || r.strength !== 'must') continue;
    for (const v of r.vms.slice(1)) {
      const a = find(r.vms[0]!);
      const b = find(v);
      if (a !== b) parent.set(b, a);
    }
  }
  return find;
}

/** Checks every promise of a plan made under rules, maintenance, clusters, budgets and hysteresis. */
function checkPlan(snapshot: FleetSnapshot, policy: ConsolidationPolicy, plan: ConsolidationPlan): void {
  const hosts = new Map(snapshot.hosts.map((h) => [h.hostId, h]));
  const target = (h: string) => {
    const host = hosts.get(h)!;
    const c = host.cluster !== undefined ? policy.clusters?.[host.cluster] : undefined;
    return { cpu: host.cpuCores * (c?.cpuTargetUtilization ?? policy.cpuTargetUtilization), mem: host.memBytes * (c?.memTargetUtilization ?? policy.memTargetUtilization) };
  };
  // CPU at the policy's quantile (p90 or p99): a stated forecast's p99 (the nearest quantile at or above it) when it has one, else cpuCores.
  const demand = new Map(snapshot.vms.map((v) => [v.vmId, { ...v, cpuCores: v.cpuQuantiles?.p99 ?? v.cpuCores }]));
  const at = new Map(snapshot.vms.map((v) => [v.vmId, v.hostId]));
  const before = new Map(at);
  const load = new Map(snapshot.hosts.map((h) => [h.hostId, { cpu: 0, mem: 0 }]));
  for (const v of demand.values()) {
    load.get(v.hostId)!.cpu += v.cpuCores;
    load.get(v.hostId)!.mem += v.memBytes;
  }
  // Overloaded (so hysteresis yields): short of CPU now, predicted over capacity, or memory over target.
  const now = new Map(snapshot.hosts.map((h) => [h.hostId, 0]));
  for (const v of snapshot.vms) now.set(v.hostId, now.get(v.hostId)! + v.cpuCores);
  const overBefore = new Set([...load].filter(([h, l]) => !within(now.get(h)!, hosts.get(h)!.cpuCores) || !within(l.cpu, hosts.get(h)!.cpuCores) || !within(l.mem, target(h).mem)).map(([h]) => h));
  const known = new Set(snapshot.vms.map((v) => v.vmId));
  const rules = (snapshot.vmRules ?? []).map((r) => ({ ...r, vms: [...new Set(r.vms.filter((v) => known.has(v)))] })).filter((r) => r.vms.length >= 2);
  const hostRules = (snapshot.hostRules ?? []).filter((r) => known.has(r.vm));
  const unit = unitsOf(rules);
  const mustBroken = (place: Map<string, string>) => {
    const broken = new Set<number>();
    rules.forEach((r, i) => {
      if (r.strength !== 'must') return;
      const where = r.vms.map((v) => place.get(v)!);
      if (r.kind === 'affinity' ? new Set(where).size > 1 : new Set(where).size < where.length) broken.add(i);
    });
    hostRules.forEach((r, i) => {
      if (r.strength === 'must' && r.hosts.includes(place.get(r.vm)!) !== (r.kind === 'affinity')) broken.add(1000 + i);
    });
    return broken;
  };
  const brokenBefore = mustBroken(before);
  const violatesBefore = (vm: string) =>
    rules.some((r) => r.strength === 'must' && r.vms.includes(vm) && (r.kind === 'affinity' ? r.vms.some((o) => before.get(o) !== before.get(vm)) : r.vms.some((o) => o !== vm && before.get(o) === before.get(vm)))) ||
    hostRules.some((r) => r.strength === 'must' && r.vm === vm && r.hosts.includes(before.get(vm)!) !== (r.kind === 'affinity'));

  // Budgets.
  const migrations = plan.actions.filter((a): a is MigrateAction => a.kind === 'migrate');
  if (policy.maxMigrationsPerPlan !== undefined) assert.ok(migrations.length <= policy.maxMigrationsPerPlan, 'per-plan budget');
  const lastHour = (snapshot.recentMoves ?? []).filter((m) => T - m.at < 60 * MIN).length;
  if (policy.maxMigrationsPerHour !== undefined) assert.ok(migrations.length + lastHour <= Math.max(policy.maxMigrationsPerHour, lastHour), 'hourly budget');
  assert.deepEqual(plan.waves.flat(), migrations.map((_, i) => i), 'waves cover the migrations, in order');
  for (const w of plan.waves) assert.ok(w.length >= 1 && w.length <= (policy.maxConcurrentMigrations ?? Infinity), 'wave size');
  const firstOff = plan.actions.findIndex((a) => a.kind === 'power-off');
  if (firstOff >= 0) assert.equal(firstOff, migrations.length, 'power-offs come last');

  // Hysteresis.
  const windowMs = (policy.hysteresisMinutes ?? 60) * MIN;
  const recent = (snapshot.recentMoves ?? []).filter((m) => T - m.at < windowMs);

  // Wave by wave: every arrival fits counting every VM not yet gone, and breaks no must-rule.
  for (const wave of plan.waves) {
    const arriving = new Map<string, { cpu: number; mem: number }>();
    const arrived: [string, string][] = [];
    for (const i of wave) {
      const m = migrations[i]!;
      const v = demand.get(m.vmId)!;
      assert.equal(at.get(m.vmId), m.fromHost, `${m.vmId} moves from where it runs`);
      assert.notEqual(m.fromHost, m.toHost);
      assert.ok(!hosts.get(m.toHost)!.maintenance, `${m.toHost} is in maintenance and receives nothing`);
      assert.equal(hosts.get(m.toHost)!.cluster, hosts.get(m.fromHost)!.cluster, 'moves stay in their cluster');
      assert.deepEqual([m.cpuCores, m.memBytes], [v.cpuCores, v.memBytes]);
      assert.ok(!recent.some((r) => r.vmId === m.vmId && r.fromHost === m.toHost), `${m.vmId} does not return to ${m.toHost} within the hysteresis window`);
      if (recent.some((r) => r.vmId === m.vmId)) {
        const from = m.fromHost;
        const unitMates = snapshot.vms.filter((o) => unit(o.vmId) === unit(m.vmId));
        assert.ok(
          hosts.get(from)!.maintenance || overBefore.has(from) || unitMates.some((o) => violatesBefore(o.vmId) || hosts.get(o.hostId)!.maintenance || overBefore.has(o.hostId)),
          `${m.vmId} was moved recently and moves again only to relieve or evacuate its host, or to fix a must-rule`,
        );
      }
      for (const r of hostRules) if (r.vm === m.vmId && r.strength === 'must') assert.equal(r.hosts.includes(m.toHost), r.kind === 'affinity', `${m.vmId} lands where its must host rule allows`);
      for (const r of rules) {
        if (r.strength !== 'must' || r.kind !== 'anti-affinity' || !r.vms.includes(m.vmId)) continue;
        for (const o of r.vms) if (o !== m.vmId) assert.notEqual(at.get(o), m.toHost, `${m.vmId} never joins ${o} (must-anti-affinity), even mid-plan`);
        for (const [o, h] of arrived) if (r.vms.includes(o)) assert.notEqual(h, m.toHost, `${m.vmId} and ${o} never arrive together`);
      }
      const a = arriving.get(m.toHost) ?? { cpu: 0, mem: 0 };
      a.cpu += v.cpuCores;
      a.mem += v.memBytes;
      arriving.set(m.toHost, a);
      const l = load.get(m.toHost)!;
      assert.ok(within(l.cpu + a.cpu, target(m.toHost).cpu) && within(l.mem + a.mem, target(m.toHost).mem), `${m.toHost} within target while ${m.vmId} arrives`);
      arrived.push([m.vmId, m.toHost]);
    }
    for (const i of wave) {
      const m = migrations[i]!;
      const v = demand.get(m.vmId)!;
      load.get(m.fromHost)!.cpu -= v.cpuCores;
      load.get(m.fromHost)!.mem -= v.memBytes;
      load.get(m.toHost)!.cpu += v.cpuCores;
      load.get(m.toHost)!.mem += v.memBytes;
      at.set(m.vmId, m.toHost);
    }
  }

  // After the plan: no new must-rule broken; moved VMs obey theirs; units moved whole.
  const brokenAfter = mustBroken(at);
  for (const r of brokenAfter) assert.ok(brokenBefore.has(r), `must-rule ${r} holds after the plan as it did before`);
  const movedVms = new Set(migrations.map((m) => m.vmId));
  for (const id of movedVms) for (const o of snapshot.vms) if (unit(o.vmId) === unit(id)) assert.equal(at.get(o.vmId), at.get(id), `${id} and ${o.vmId} end on one host (must-affinity)`);
  assert.equal(plan.risk.mustViolations, plan.violations.filter((v) => v.strength === 'must').length);
  assert.ok(plan.violations.filter((v) => v.strength === 'must').every((v) => v.preExisting), 'a must violation after the plan was there before');

  // Targets: only hosts reported as unfixable stay over target, and they received nothing.
  const over = [...load].filter(([h, l]) => [...at.values()].includes(h) && !(within(l.cpu, target(h).cpu) && within(l.mem, target(h).mem))).map(([h]) => h);
  for (const h of over) {
    assert.ok(plan.risk.hostsOverTarget.includes(h), `${h} is over target after the plan and reported`);
    assert.ok(!migrations.some((m) => m.toHost === h), `${h} over target received nothing`);
  }

  // Power-offs: exactly the emptied hosts not in maintenance.
  const count = new Map<string, number>();
  for (const h of at.values()) count.set(h, (count.get(h) ?? 0) + 1);
  const emptied = [...new Set(before.values())].filter((h) => !count.has(h) && !hosts.get(h)!.maintenance).sort();
  assert.deepEqual(plan.actions.flatMap((a) => (a.kind === 'power-off' ? [a.hostId] : [])).sort(), emptied);
  assert.equal(plan.expectedSavings.hosts, emptied.length);
  assert.deepEqual(plan.risk.maintenanceNotEvacuated, [...count.keys()].filter((h) => hosts.get(h)!.maintenance).sort());
  assert.equal(plan.budget.used, migrations.length);
}

test('property: plans under rules, maintenance, clusters, budgets and hysteresis keep every promise', () => {
  fc.assert(
    fc.property(caseArb, ({ snapshot, policy }) => {
      checkPlan(snapshot, policy, planFleet(snapshot, policy));
    }),
    { numRuns: 600 },
  );
});

test('property: a permuted input (hosts, VMs, rules, history) gives the identical plan', () => {
  fc.assert(
    fc.property(caseArb, fc.integer(), ({ snapshot, policy }, seed) => {
      const plan = planFleet(snapshot, policy);
      assert.deepEqual(planFleet(structuredClone(snapshot), { ...policy }), plan);
      const permuted: FleetSnapshot = {
        ...snapshot,
        hosts: shuffle(snapshot.hosts, seed),
        vms: shuffle(snapshot.vms, seed + 1),
        vmRules: shuffle(snapshot.vmRules ?? [], seed + 2).map((r) => ({ ...r, vms: shuffle(r.vms, seed + 3) })),
        hostRules: shuffle(snapshot.hostRules ?? [], seed + 4).map((r) => ({ ...r, hosts: shuffle(r.hosts, seed + 5) })),
        recentMoves: shuffle(snapshot.recentMoves ?? [], seed + 6),
      };
      assert.deepEqual(planFleet(permuted, policy), plan);
    }),
    { numRuns: 300 },
  );
});
