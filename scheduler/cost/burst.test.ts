import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NovaError } from '../../core/index.ts';
import { planConsolidation } from '../ffd.ts';
import type { FleetSnapshot } from '../types.ts';
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

/** Two hosts of 10 cores / 32 GiB (8 target cores each at 80 %), with VMs of the given p95 cores, 4 GiB each. */
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
const fitsOnPrem = (s: FleetSnapshot, gone: readonly string[]) => planConsolidation({ ...s, vms: s.vms.filter((v) => !gone.includes(v.vmId)) }).unplaced.length === 0;

describe('suggestBurstOut', () => {
  it('picks nothing when on-prem holds the forecast', () => {
    const s = fleet([2, 2, 2, 2, 1.5, 1.5]); // 11 of 16 target cores
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog });
    assert.deepEqual(plan.suggestions, []);
    assert.equal(plan.horizonCost, 0);
    assert.match(plan.reason, /no burst: on-prem holds its forecast demand \(11\.00 of 16\.00 target cores \(69%\)/);
  });

  it('bursts just enough when demand exceeds capacity, at the cheapest offers, and explains with numbers', () => {
    const s = fleet([2, 2, 2, 2, 2, 2, 2, 2, 1.5, 1.5]); // 19 of 16 target cores
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog });
    const gone = plan.suggestions.map((x) => x.vmId);
    assert.ok(fitsOnPrem(s, gone), 'the rest fits on-prem');
    assert.ok(gone.length >= 2 && gone.length <= 3, `${gone}`);
    assert.ok(plan.suggestions.every((x) => x.choice.instance.instanceType === 'n.2'), 'the cheapest 2 vCPU offer (spot is not allowed by default)');
    assert.ok(Math.abs(plan.horizonCost - gone.length * 0.095 * 24) < 1e-9);
    assert.ok(plan.after.cpuDemand <= plan.after.cpuTarget);
    const first = plan.suggestions[0]!;
    assert.match(first.reason, /on-prem forecast demand 19\.00 of 16\.00 target cores \(119%\).* over the next 24 h/);
    assert.match(first.reason, /demand exceeds capacity in total by 3\.00 cores, and it removes 2\.00 cores \/ 4\.00 GiB/);
    assert.match(first.reason, /gcp n\.2 \(us-central1\) on-demand .* at 0\.0950 USD\/h: 2\.28 USD for 24 h/);
    assert.match(plan.reason, /burst \d VM\(s\) for .* USD over 24 h/);
  });

  it('prefers the VMs that remove the excess most cheaply per share of it', () => {
    // 1.5-core VMs cost the same as 2-core ones but remove less: the 2-core ones go first.
    const s = fleet([2, 2, 2, 2, 2, 2, 2, 2, 1.5, 1.5]);
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s), catalog });
    assert.ok(plan.suggestions.every((x) => x.cpuCores === 2));
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
    const s = fleet([3, 3, 3, 3, 3, 3]); // 18 of 16 target cores
    const burstable = { vm00: { vcpus: 4, constraints: { allowedProviders: ['aws'] } } };
    const plan = suggestBurstOut({ snapshot: s, burstable, catalog });
    assert.deepEqual(plan.suggestions.map((x) => [x.vmId, x.choice.instance.instanceType]), [['vm00', 'm.xlarge']]);
    assert.deepEqual(plan.stillUnplaced.length > 0, !fitsOnPrem(s, ['vm00']));
    const none = suggestBurstOut({ snapshot: s, burstable: {}, catalog });
    assert.deepEqual(none.suggestions, []);
    assert.ok(none.stillUnplaced.length > 0);
    assert.match(none.reason, /still no room under the targets for .*: add capacity or allow them to burst/);
  });

  it('bursts a VM that fits no host even when the total fits', () => {
    const s = fleet([1, 1]);
    s.vms.push({ vmId: 'huge', hostId: 'h1', cpuCores: 9, memBytes: 4 * GIB }); // 9 cores > 8 target cores of any host
    const plan = suggestBurstOut({ snapshot: s, burstable: allBurstable(s, 8), catalog });
    assert.deepEqual(plan.suggestions.map((x) => x.vmId), ['huge']);
    assert.match(plan.suggestions[0]!.reason, /it fits no on-prem host under the targets/);
    assert.equal(plan.suggestions[0]!.choice.instance.instanceType, 'n.8');
  });

  it('counts capacity as the planner does: no host in maintenance, per-cluster targets', () => {
    const s = fleet([1, 1]);
    s.hosts = [{ ...s.hosts[0]!, cluster: 'edge' }, { ...s.hosts[1]!, maintenance: true }];
    const plan = suggestBurstOut({ snapshot: s, burstable: {}, catalog }, { ...DEFAULT_BURST_POLICY, clusters: { edge: { cpuTargetUtilization: 0.5 } } });
    assert.equal(plan.before.cpuTarget, 5); // h1 at the edge cluster's 50 %; h2 is in maintenance
    assert.equal(plan.before.memTarget, 32 * GIB);
  });

  it('always leaves a fleet that fits, or bursts every VM that could help (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 9.5, noNaN: true }), { minLength: 1, maxLength: 24 }), fc.double({ min: 0, max: 1, noNaN: true }), (cpus, share) => {
        const s = fleet(cpus);
        const burstable = Object.fromEntries(s.vms.filter((_, i) => i < Math.ceil(cpus.length * share)).map((v) => [v.vmId, { vcpus: 8 }]));
        const plan = suggestBurstOut({ snapshot: s, burstable, catalog });
        const gone = plan.suggestions.map((x) => x.vmId);
        assert.ok(gone.every((id) => id in burstable));
        if (plan.stillUnplaced.length === 0) assert.ok(fitsOnPrem(s, gone));
        else assert.deepEqual([...gone].sort(), Object.keys(burstable).sort());
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

  it('brings cloud VMs back where there is room, with the savings per month', () => {
    const s = fleet([2, 2]);
    const plan = suggestRepatriation({ snapshot: s, cloudVms: [cloud('c1', 2), cloud('c2', 1, 'm.large')], catalog, hostProfiles: profiles });
    assert.deepEqual(plan.suggestions.map((x) => [x.vmId, x.toHost]), [['c1', 'h1'], ['c2', 'h1']]);
    const c1 = plan.suggestions[0]!;
    // h1: 2 → 4 cores of 10, linear 100–300 W: 140 → 180 W = 40 W × 730 h × 0.25 /kWh = 7.30 a month.
    assert.ok(Math.abs(c1.onPremMonthly - 7.3) < 1e-9);
    assert.ok(Math.abs(c1.monthlySavings - (0.2 * 730 - 7.3)) < 1e-9);
    assert.match(c1.reason, /on h1 \(running, CPU 20% → 40%\) power goes 140 → 180 W at 0\.25 USD\/kWh = \+7\.30 USD\/month .*saves 138\.70 USD\/month/);
    assert.ok(Math.abs(plan.monthlySavings - plan.suggestions.reduce((t, x) => t + x.monthlySavings, 0)) < 1e-9);
  });

  it('stops when on-prem is full, and brings nothing back while it needs to burst', () => {
    const full = fleet([4, 4, 3.5, 3.5]); // 15 of 16 target cores
    const plan = suggestRepatriation({ snapshot: full, cloudVms: [cloud('c1', 2), cloud('c2', 0.5)], catalog, hostProfiles: profiles });
    assert.deepEqual(plan.suggestions.map((x) => x.vmId), ['c2']);
    assert.match(plan.skipped[0]!.reason, /c1 .*no on-prem host has room for it under the targets/);
    const over = suggestRepatriation({ snapshot: fleet([4, 4, 4, 4, 2]), cloudVms: [cloud('c1', 0.1)], catalog, hostProfiles: profiles });
    assert.deepEqual(over.suggestions, []);
    assert.match(over.reason, /on-prem cannot hold its own forecast demand/);
  });

  it('skips VMs that would not save more than the threshold, and respects allowed hosts', () => {
    const s = fleet([2, 2]);
    const plan = suggestRepatriation({ snapshot: s, cloudVms: [cloud('cheap', 6, 'm.large'), { ...cloud('pinned', 1), allowedHosts: ['h2'] }], catalog, hostProfiles: profiles }, { ...DEFAULT_BURST_POLICY, minMonthlySavings: 60 });
    assert.deepEqual(plan.suggestions.map((x) => [x.vmId, x.toHost]), [['pinned', 'h2']]);
    assert.match(plan.skipped.find((x) => x.vmId === 'cheap')!.reason, /saves 51\.10 USD\/month, not more than the 60\.00 USD threshold/);
  });

  it('rejects a VM listed both on-prem and in the cloud', () => {
    assert.throws(() => suggestRepatriation({ snapshot: fleet([1]), cloudVms: [cloud('vm00', 1)], catalog, hostProfiles: profiles }), (e: unknown) => e instanceof NovaError && e.code === 'COST_INVALID_INPUT');
  });
});
