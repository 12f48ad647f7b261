import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NovaError } from '../../core/index.ts';
import { planMoves } from '../plan-fleet.ts';
import { DEFAULT_POLICY, type FleetSnapshot } from '../types.ts';
import { DEFAULT_BURST_POLICY, suggestBurstOut, suggestRepatriation, type BurstProfile } from './burst.ts';
import { parseCatalog } from './catalog.ts';
import type { HostProfiles } from './model.ts';
import type { CloudVm } from './types.ts';

const GIB = 1024 ** 3;
const catalog = parseCatalog({
  version: 1,
  currency: 'USD',
  instances: [
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.large', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1, spotPerHour: 0.03 },
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.xlarge', vcpus: 4, memoryGiB: 16, onDemandPerHour: 0.2, spotPerHour: 0.06 },
    { provider: 'gcp', region: 'us-central1', instanceType: 'n.2', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.095 },
    { provider: 'gcp', region: 'us-central1', instanceType: 'n.8', vcpus: 8, memoryGiB: 32, onDemandPerHour: 0.38 },
  ],
});
const profiles: HostProfiles = { default: { purchasePrice: 10_000, lifetimeHours: 5 * 8760, power: { kind: 'linear', idleWatts: 100, maxWatts: 300 }, pricePerKWh: 0.25 } };

/**
 * Two hosts of 10 cores / 32 GiB (9.7 target cores each at the default 97 %), VMs of the given
 * cores (no history: the figure is the forecast at every quantile), 4 GiB each, alternating h1, h2.
 * The planner relieves a host only when it is overloaded (here: its VMs need more than its 10
 * cores), so a burst needs demand beyond a host's raw capacity, not just over its target.
 */
function fleet(cpus: readonly number[]): FleetSnapshot {
  return {
    takenAt: 0,
    hosts: [
      { hostId: 'h1', cpuCores: 10, memBytes: 32 * GIB },
      { hostId: 'h2', cpuCores: 10, memBytes: 32 * GIB },
    ],
    vms: cpus.map((cpu, i) => ({ vmId: `vm${String(i).padStart(2, '0')}`, hostId: i % 2 === 0 ? 'h1' : 'h2', cpuCores: cpu, memBytes: 4 * GIB, source: 'ewma' })),
  };
}
const allBurstable = (s: FleetSnapshot, vcpus = 2): Record<string, BurstProfile> => Object.fromEntries(s.vms.map((v) => [v.vmId, { vcpus }]));
/** The planner places every VM that must move and leaves no host overloaded once `gone` are out. */
const fitsOnPrem = (s: FleetSnapshot, gone: readonly string[]) => {
  const plan = planMoves({ ...s, vms: s.vms.filter((v) => !gone.includes(v.vmId)) });
  return plan.unplaced.length === 0 && plan.risk.hostsOverloaded.length === 0;
};

describe('suggestBurstOut', () => {
  it('picks nothing when on-prem holds the forecast', () => {
    const s = fleet([2, 2, 2, 2, 1.5, 1.5]); // 11 of 19.4 target cores
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog });
    assert.deepEqual(plan.suggestions, []);
    assert.equal(plan.horizonCost, 0);
    assert.match(plan.reason, /no burst: on-prem holds its forecast demand \(p90 11\.00 of 19\.40 target cores \(57%\)/);
  });

  it('picks nothing when hosts are over their target but not overloaded: relief waits for an overload', () => {
    const s = fleet([2, 2, 2, 2, 2, 2, 2, 2, 1.9, 1.9]); // 9.9 cores on each 10-core host: over the 9.7 target, within capacity
    assert.ok(fitsOnPrem(s, []));
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog });
    assert.deepEqual(plan.suggestions, []);
    assert.match(plan.reason, /p90 19\.80 of 19\.40 target cores \(102%\)/);
  });

  // 13 cores on each 10-core host: both are short of CPU, and 26 cores exceed the 19.4 target cores in total.
  const overloaded = () => fleet([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1.5, 1.5, 1.5, 1.5]);

  it('bursts just enough when demand exceeds capacity, at the cheapest offers, and explains with numbers', () => {
    const s = overloaded();
    assert.ok(!fitsOnPrem(s, []), 'relief alone cannot place everything');
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog });
    const gone = plan.suggestions.map((x) => x.vmId);
    assert.ok(fitsOnPrem(s, gone), 'the rest fits on-prem');
    assert.equal(gone.length, 4, `${gone}: 6.6 cores of excess take four 2-core VMs`);
    assert.ok(plan.suggestions.every((x) => x.choice.instance.instanceType === 'n.2'), 'the cheapest 2 vCPU offer (spot is not allowed by default)');
    assert.ok(Math.abs(plan.horizonCost - gone.length * 0.095 * 24) < 1e-9);
    assert.ok(plan.after.cpuDemand <= plan.after.cpuTarget);
    assert.deepEqual([plan.stillUnplaced, plan.stillOverloaded], [[], []]);
    const first = plan.suggestions[0]!;
    assert.match(first.reason, /on-prem forecast demand p90 26\.00 of 19\.40 target cores \(134%\).* over the next 24 h/);
    assert.match(first.reason, /it leaves 2 host\(s\) overloaded \(h1, h2\)/);
    assert.match(first.reason, /demand exceeds capacity in total by 6\.60 cores, and it removes 2\.00 cores \/ 4\.00 GiB/);
    assert.match(first.reason, /gcp n\.2 \(us-central1\) on-demand .* at 0\.0950 USD\/h: 2\.28 USD for 24 h/);
    assert.match(plan.reason, /burst 4 VM\(s\) for 9\.12 USD over 24 h/);
  });

  it('prefers the VMs that remove the excess most cheaply per share of it', () => {
    // 1.5-core VMs cost the same as 2-core ones but remove less: the 2-core ones go first.
    const plan = suggestBurstOut({ snapshot: overloaded(), burstable: allBurstable(overloaded()), catalog });
    assert.ok(plan.suggestions.length > 0 && plan.suggestions.every((x) => x.cpuCores === 2));
  });

  it('lets spot compete when the policy allows it', () => {
    const plan = suggestBurstOut({ snapshot: overloaded(), burstable: allBurstable(overloaded()), catalog }, { ...DEFAULT_BURST_POLICY, constraints: { spotAllowed: true } });
    assert.ok(plan.suggestions.length > 0 && plan.suggestions.every((x) => x.choice.instance.instanceType === 'm.large' && x.choice.pricing === 'spot' && x.choice.pricePerHour === 0.03));
    assert.match(plan.suggestions[0]!.reason, /spot capacity can be reclaimed/);
  });

  it('asks about room, not about this hour\'s migration budget', () => {
    // Two 10-core hosts, one short of CPU with room on the other: only the budget stops the relief.
    const s = fleet([6, 1, 5]);
    const budgeted = { ...DEFAULT_POLICY, maxMigrationsPerPlan: 0 };
    assert.deepEqual(planMoves(s, budgeted).risk.hostsOverloaded, ['h1']);
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog }, { ...DEFAULT_BURST_POLICY, consolidation: budgeted });
    assert.deepEqual(plan.suggestions, []);
  });

  it('bursts for memory too, and says which burstable VMs no offer can hold', () => {
    const s: FleetSnapshot = {
      takenAt: 0,
      hosts: [{ hostId: 'h', cpuCores: 16, memBytes: 64 * GIB }],
      vms: [
        { vmId: 'a', hostId: 'h', cpuCores: 1, memBytes: 40 * GIB },
        { vmId: 'b', hostId: 'h', cpuCores: 1, memBytes: 16 * GIB },
        { vmId: 'c', hostId: 'h', cpuCores: 1, memBytes: 16 * GIB },
      ],
    }; // 72 of 64 GiB
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog });
    assert.deepEqual(plan.suggestions.map((x) => [x.vmId, x.choice.instance.instanceType]), [['b', 'm.xlarge']]);
    assert.match(plan.suggestions[0]!.reason, /by 8\.00 GiB, and it removes 1\.00 cores \/ 16\.00 GiB/);
    assert.match(plan.reason, /1 burstable VM\(s\) have no allowed offer that fits \(a\)/);
  });

  it('only bursts opted-in VMs, within their constraints; reports what still does not fit', () => {
    const s = fleet([4, 4, 4, 4, 4, 4]); // 12 cores on each 10-core host
    const burstable = { vm00: { vcpus: 4, constraints: { allowedProviders: ['aws'] } } };
    const plan = suggestBurstOut({ snapshot: s, burstable, catalog });
    assert.deepEqual(plan.suggestions.map((x) => [x.vmId, x.choice.instance.instanceType]), [['vm00', 'm.xlarge']]);
    assert.ok(!fitsOnPrem(s, ['vm00']));
    assert.deepEqual(plan.stillOverloaded, ['h2'], 'h1 is relieved by vm00 leaving; h2 has nowhere to shed');
    const none = suggestBurstOut({ snapshot: s, burstable: {}, catalog });
    assert.deepEqual(none.suggestions, []);
    assert.ok(none.stillUnplaced.length > 0 && none.stillOverloaded.length === 2);
    assert.match(none.reason, /still no host for .*, host\(s\) h1, h2 still overloaded: add capacity or allow more VMs to burst/);
  });

  it('sends out nothing that cannot help: a VM too big for every host stays reported', () => {
    const s = fleet([1, 1]);
    s.vms.push({ vmId: 'huge', hostId: 'h1', cpuCores: 10.5, memBytes: 4 * GIB }, { vmId: 'side', hostId: 'h1', cpuCores: 0.5, memBytes: 4 * GIB });
    // huge may not burst; bursting vm01 or side frees room, but no host can ever take 10.5 cores under a 9.7-core target.
    const plan = suggestBurstOut({ snapshot: s, burstable: { vm01: { vcpus: 2 }, side: { vcpus: 2 } }, catalog });
    assert.deepEqual(plan.suggestions, []);
    assert.deepEqual([plan.stillUnplaced, plan.stillOverloaded], [['huge'], ['h1']]);
    assert.match(plan.reason, /burst 0 VM\(s\).*still no host for huge, host\(s\) h1 still overloaded/);
  });

  it('bursts a VM that must move and fits no host even when the total fits', () => {
    const s = fleet([1, 1]);
    s.vms.push({ vmId: 'huge', hostId: 'h1', cpuCores: 10.5, memBytes: 4 * GIB }); // h1 short of CPU; 10.5 cores > 9.7 target cores of any host
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s, 8), catalog });
    assert.deepEqual(plan.suggestions.map((x) => x.vmId), ['huge']);
    assert.match(plan.suggestions[0]!.reason, /the planner finds no host for 1 VM\(s\) that must move \(huge\).*it must move and fits no on-prem host under the targets/);
    assert.equal(plan.suggestions[0]!.choice.instance.instanceType, 'n.8');
  });

  it('counts capacity as the planner does: no host in maintenance, per-cluster targets', () => {
    const s = fleet([1, 1]);
    s.hosts = [{ ...s.hosts[0]!, cluster: 'edge' }, { ...s.hosts[1]!, maintenance: true }];
    const plan = suggestBurstOut({ snapshot: s, burstable: {}, catalog }, { ...DEFAULT_BURST_POLICY, consolidation: { ...DEFAULT_POLICY, clusters: { edge: { cpuTargetUtilization: 0.5 } } } });
    assert.equal(plan.before.cpuTarget, 5); // h1 at the edge cluster's 50 %; h2 is in maintenance
    assert.equal(plan.before.memTarget, 32 * GIB);
  });

  it('always leaves a fleet that fits, or gives up only when no burst could (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 9.5, noNaN: true }), { minLength: 1, maxLength: 24 }), fc.double({ min: 0, max: 1, noNaN: true }), (cpus, share) => {
        const s = fleet(cpus);
        const burstable = Object.fromEntries(s.vms.filter((_, i) => i < Math.ceil(cpus.length * share)).map((v) => [v.vmId, { vcpus: 8 }]));
        const plan = suggestBurstOut({ snapshot: s, burstable, catalog });
        const gone = plan.suggestions.map((x) => x.vmId);
        assert.ok(gone.every((id) => id in burstable));
        if (plan.stillUnplaced.length === 0 && plan.stillOverloaded.length === 0) assert.ok(fitsOnPrem(s, gone));
        else assert.ok(!fitsOnPrem(s, Object.keys(burstable)), 'it gives up only when bursting every burstable VM would not do');
        if (fitsOnPrem(s, [])) assert.deepEqual(gone, []);
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic: permuted input, identical plan', () => {
    const s = fleet([2, 2.5, 2, 1, 2, 2, 3, 2, 1.5, 1.5, 0.5]);
    const a = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog });
    const b = suggestBurstOut({ snapshot: { ...s, hosts: [...s.hosts].reverse(), vms: [...s.vms].reverse() }, burstable: allBurstable(s), catalog });
    assert.deepEqual(a, b);
  });
});

describe('suggestRepatriation', () => {
  const cloud = (id: string, cpu: number, type = 'm.xlarge'): CloudVm => ({ vmId: id, instance: { provider: 'aws', region: 'us-east-1', instanceType: type, pricing: 'on-demand' }, cpuCores: cpu, memBytes: 8 * GIB, source: 'ewma' });

  it('brings cloud VMs back where there is room after the plan, with the savings per month', () => {
    const s = fleet([2, 2]);
    // The moves plan empties h1 (vm00 joins vm01 on h2) and powers it off: cloud VMs land on h2, not on the host being emptied.
    assert.deepEqual(planMoves(s).actions.map((a) => (a.kind === 'migrate' ? `${a.vmId}→${a.toHost}` : `off ${a.hostId}`)), ['vm00→h2', 'off h1']);
    const plan = suggestRepatriation({ snapshot: s, cloudVms: [cloud('c1', 2), cloud('c2', 1, 'm.large')], catalog, hostProfiles: profiles });
    assert.deepEqual(plan.suggestions.map((x) => [x.vmId, x.toHost]), [['c1', 'h2'], ['c2', 'h2']]);
    const c1 = plan.suggestions[0]!;
    // h2: 4 → 6 cores of 10, linear 100–300 W: 180 → 220 W = 40 W × 730 h × 0.25 /kWh = 7.30 a month.
    assert.ok(Math.abs(c1.onPremMonthly - 7.3) < 1e-9);
    assert.ok(Math.abs(c1.monthlySavings - (0.2 * 730 - 7.3)) < 1e-9);
    assert.match(c1.reason, /on h2 \(running, CPU 40% → 60%\) power goes 180 → 220 W at 0\.25 USD\/kWh = \+7\.30 USD\/month .*saves 138\.70 USD\/month/);
    assert.ok(Math.abs(plan.monthlySavings - plan.suggestions.reduce((t, x) => t + x.monthlySavings, 0)) < 1e-9);
  });

  it('stops when on-prem is full, and brings nothing back while it needs to burst', () => {
    const full = fleet([4.5, 4.5, 4, 4]); // 8.5 of 9.7 target cores on each host
    const plan = suggestRepatriation({ snapshot: full, cloudVms: [cloud('c1', 2), cloud('c2', 0.5)], catalog, hostProfiles: profiles });
    assert.deepEqual(plan.suggestions.map((x) => x.vmId), ['c2']);
    assert.match(plan.skipped[0]!.reason, /c1 .*no on-prem host has room for it under the targets/);
    const over = suggestRepatriation({ snapshot: fleet([6, 6, 6, 6]), cloudVms: [cloud('c1', 0.1)], catalog, hostProfiles: profiles }); // 12 cores on each 10-core host
    assert.deepEqual(over.suggestions, []);
    assert.match(over.reason, /on-prem cannot hold its own forecast demand .*it leaves 2 host\(s\) overloaded \(h1, h2\)\): bring nothing back/);
  });

  it('skips VMs that would not save more than the threshold, and respects allowed hosts', () => {
    const s = fleet([2, 2]);
    const plan = suggestRepatriation({ snapshot: s, cloudVms: [cloud('cheap', 6, 'm.large'), { ...cloud('pinned', 1), allowedHosts: ['h2'] }], catalog, hostProfiles: profiles }, { ...DEFAULT_BURST_POLICY, minMonthlySavings: 60 });
    assert.deepEqual(plan.suggestions.map((x) => [x.vmId, x.toHost]), [['pinned', 'h2']]);
    // After the plan h2 runs 4 cores and h1 is off: 6 more cores fit only on h1, powered on for it (0 → 220 W = 40.15 a month).
    assert.match(plan.skipped.find((x) => x.vmId === 'cheap')!.reason, /on h1 \(empty and off: powering it on at 60% CPU\) power goes 0 → 220 W .*saves 32\.85 USD\/month, not more than the 60\.00 USD threshold/);
  });

  it('rejects a VM listed both on-prem and in the cloud', () => {
    assert.throws(() => suggestRepatriation({ snapshot: fleet([1]), cloudVms: [cloud('vm00', 1)], catalog, hostProfiles: profiles }), (e: unknown) => e instanceof NovaError && e.code === 'COST_INVALID_INPUT');
  });
});
