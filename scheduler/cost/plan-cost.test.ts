import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NovaError } from '../../core/index.ts';
import { planFleet, planMoves } from '../plan-fleet.ts';
import { parseSnapshot, planToJson, snapshotToJson } from '../snapshot-file.ts';
import type { CostInputs, FleetSnapshot, VmDemand } from '../types.ts';
import type { HostProfiles } from './model.ts';
import type { CloudVm } from './types.ts';

// planFleet's cost section: each cost feature from a snapshot's cost inputs, beside moves it never changes.

const GIB = 1024 ** 3;
const catalog = {
  version: 1 as const,
  currency: 'USD',
  note: 'test prices',
  instances: [
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.large', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1, spotPerHour: 0.03 },
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.xlarge', vcpus: 4, memoryGiB: 16, onDemandPerHour: 0.2, spotPerHour: 0.06 },
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.2xlarge', vcpus: 8, memoryGiB: 32, onDemandPerHour: 0.4, spotPerHour: 0.12 },
    { provider: 'gcp', region: 'us-central1', instanceType: 'n.2', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.095 },
  ],
};
const hostProfiles: HostProfiles = { default: { purchasePrice: 10_000, lifetimeHours: 5 * 8760, power: { kind: 'linear', idleWatts: 100, maxWatts: 300 }, pricePerKWh: 0.25 } };

/** 100 samples 0, 0.01·scale, …, 0.99·scale: p95 = 0.9405·scale, p99 = 0.9801·scale. */
const ramp = (scale: number) => Array.from({ length: 100 }, (_, i) => (i / 100) * scale);

/** Two 10-core / 32 GiB hosts; VMs of the given cores alternate h1, h2 (4 GiB each, no history). */
function fleet(cpus: readonly number[], cost?: CostInputs): FleetSnapshot {
  return {
    takenAt: 1_700_000_000_000,
    hosts: [
      { hostId: 'h1', cpuCores: 10, memBytes: 32 * GIB },
      { hostId: 'h2', cpuCores: 10, memBytes: 32 * GIB },
    ],
    vms: cpus.map((cpu, i): VmDemand => ({ vmId: `vm${String(i).padStart(2, '0')}`, hostId: i % 2 === 0 ? 'h1' : 'h2', cpuCores: cpu, memBytes: 4 * GIB })),
    ...(cost ? { cost } : {}),
  };
}

/** A VM with 100 samples of CPU (cores) and memory used (bytes), 8 vCPUs and 16 GiB configured. */
function sized(vmId: string, hostId: string, cpuScale: number, memScale: number, extra: Partial<VmDemand> = {}): VmDemand {
  const cpuHistory = ramp(cpuScale);
  return { vmId, hostId, cpuCores: cpuHistory.at(-1)!, cpuHistory, memBytes: 16 * GIB, vcpus: 8, memUsedHistory: ramp(memScale), ...extra };
}

const cloudVm = (vmId: string, instanceType: string, extra: Partial<CloudVm> = {}): CloudVm => ({ vmId, instance: { provider: 'aws', region: 'us-east-1', instanceType, pricing: 'on-demand' }, cpuCores: 0.5, memBytes: 8 * GIB, source: 'ewma', ...extra });

/** 13 cores on each 10-core host: both short of CPU, 26 cores against 19.4 target cores. */
const overloaded = (cost: CostInputs) => fleet([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1.5, 1.5, 1.5, 1.5], cost);
const allBurstable = (s: FleetSnapshot) => Object.fromEntries(s.vms.map((v) => [v.vmId, { vcpus: 2 }]));

describe('planFleet: cost recommendations beside the moves', () => {
  it('a snapshot without cost inputs gets no cost section at all, and the same plan as the moves alone', () => {
    const s = fleet([2, 2, 1]);
    const plan = planFleet(s);
    assert.equal('cost' in plan, false);
    assert.deepEqual(plan, planMoves(s));
    // A cpuHistory alone (what every replay gives) is not a cost input: rightsizing also needs memory.
    const withCpu = { ...s, vms: s.vms.map((v) => ({ ...v, cpuHistory: ramp(v.cpuCores) })) };
    assert.equal('cost' in planFleet(withCpu), false);
  });

  it('the cost inputs never change the moves', () => {
    const s = overloaded({ catalog, burstable: {} });
    const { cost, ...moves } = planFleet(s);
    assert.ok(cost);
    assert.deepEqual(moves, planMoves(s));
  });

  it('rightsizes every on-prem VM with enough history, from its percentiles, and says what it frees', () => {
    const s: FleetSnapshot = {
      takenAt: 0,
      hosts: [{ hostId: 'h1', cpuCores: 32, memBytes: 128 * GIB }],
      vms: [
        sized('big', 'h1', 2, 6 * GIB), // p95 1.88 cores + 20 % → 3 vCPUs; p99 5.88 GiB + 10 % → 6.5 GiB
        sized('tight', 'h1', 9, 15 * GIB), // p95 8.46 + 20 % → 11 vCPUs; p99 14.70 GiB + 10 % → 16.25 GiB: grows
        sized('short', 'h1', 1, GIB, { memUsedHistory: [GIB, GIB] }), // 2 memory samples: not evaluated
        { vmId: 'nosize', hostId: 'h1', cpuCores: 1, memBytes: 4 * GIB, cpuHistory: ramp(1), memUsedHistory: ramp(GIB) }, // no vcpus: not evaluated
      ],
    };
    const cost = planFleet(s).cost!;
    assert.ok(cost, 'memUsedHistory alone asks for rightsizing');
    assert.deepEqual(cost.rightsizing.map((r) => [r.vmId, r.action, r.recommended]), [
      ['big', 'downsize', { vcpus: 3, memBytes: 6.5 * GIB }],
      ['tight', 'upsize', { vcpus: 11, memBytes: 16.25 * GIB }],
    ]);
    assert.deepEqual(cost.rightsizing[0]!.location, { kind: 'on-prem', hostId: 'h1' });
    assert.equal(cost.rightsizing[0]!.monthlySavings, null, 'on-prem: capacity, not money');
    assert.match(cost.rightsizing[0]!.reason, /p95 CPU 1\.88 cores over 100 samples \+ 20% headroom = 2\.26 → 3 vCPUs; p99 memory 5\.88 GiB over 100 samples \+ 10% headroom = 6\.47 → 6\.50 GiB/);
    assert.match(cost.rightsizing[0]!.reason, /freeing 5 vCPUs and 9\.50 GiB on h1/);
    const sum = cost.summary;
    assert.equal(sum.currency, null, 'no catalog: no prices');
    assert.deepEqual(
      [sum.rightsizing.onPremVms, sum.rightsizing.notEvaluated, sum.rightsizing.downsize, sum.rightsizing.upsize, sum.rightsizing.vcpusFreed, sum.rightsizing.memBytesFreed, sum.rightsizing.vcpusAdded, sum.rightsizing.memBytesAdded],
      [2, 2, 1, 1, 5, 9.5 * GIB, 3, 0.25 * GIB],
    );
    assert.match(sum.rightsizing.reason, /2 on-prem VM\(s\) not rightsized: fewer than 24 CPU or memory samples/);
    assert.deepEqual(sum.monthlySavings, { rightsizing: 0, repatriation: 0, burstOut: 0, total: 0 });
    assert.equal(cost.burstOut, null);
    assert.equal(cost.repatriation, null);
  });

  it('rightsizes in vCPUs when the snapshot counts CPU in another unit (configured size)', () => {
    // A replay counting CPU in 1,000 MIPS, with 2.9 of those per vCPU, reserving no memory.
    const vm = sized('r', 'h1', 2 * 2.9, 6 * GIB, { memBytes: 0, vcpus: 1, configured: { vcpus: 4, memBytes: 16 * GIB, cpuCoresPerVcpu: 2.9 } });
    const cost = planFleet({ takenAt: 0, hosts: [{ hostId: 'h1', cpuCores: 32, memBytes: 128 * GIB }], vms: [vm] }).cost!;
    assert.deepEqual(cost.rightsizing.map((r) => [r.action, r.current, r.recommended]), [['downsize', { vcpus: 4, memBytes: 16 * GIB }, { vcpus: 3, memBytes: 6.5 * GIB }]]);
  });

  it('rightsizes cloud VMs to the cheapest fitting offer, with monthly savings', () => {
    const cost = planFleet(fleet([1], { catalog, cloudVms: [cloudVm('api', 'm.2xlarge', { cpuHistory: ramp(2), memUsedHistory: ramp(6 * GIB) }), cloudVm('new', 'm.large')] })).cost!;
    const api = cost.rightsizing.find((r) => r.vmId === 'api')!;
    assert.equal(api.action, 'downsize');
    assert.equal(api.recommendedInstance?.instance.instanceType, 'm.xlarge', 'a resize stays with its provider and region');
    assert.ok(Math.abs(api.monthlySavings! - 0.2 * 730) < 1e-9);
    assert.equal(cost.rightsizing.find((r) => r.vmId === 'new')!.action, 'insufficient-data');
    assert.equal(cost.summary.currency, 'USD');
    assert.equal(cost.summary.catalogNote, 'test prices');
    assert.ok(Math.abs(cost.summary.monthlySavings.rightsizing - 146) < 1e-9);
  });

  it('bursts out when the moves plan leaves VMs without a host and hosts overloaded', () => {
    const s = overloaded({ catalog, burstable: {} });
    s.cost = { catalog, burstable: allBurstable(s) };
    const plan = planFleet(s);
    assert.ok(plan.unplaced.length > 0 && plan.risk.hostsOverloaded.length === 2, 'relief alone cannot hold 26 cores on 20');
    const burst = plan.cost!.burstOut!;
    assert.equal(burst.suggestions.length, 4);
    assert.ok(burst.suggestions.every((x) => x.choice.instance.instanceType === 'n.2' && x.choice.pricing === 'on-demand'));
    assert.match(burst.suggestions[0]!.reason, /on-prem forecast demand p90 26\.00 of 19\.40 target cores \(134%\)/);
    const sum = plan.cost!.summary;
    assert.deepEqual([sum.burstOut.onPremShort, sum.burstOut.vms], [true, 4]);
    assert.ok(Math.abs(sum.burstOut.monthlyCost - 4 * 0.095 * 730) < 1e-9);
    assert.equal(sum.monthlySavings.burstOut, -sum.burstOut.monthlyCost, 'a burst is a cost');
    assert.equal(sum.monthlySavings.total, sum.monthlySavings.burstOut);
  });

  it('considers no burst when the moves plan does its job, and says why when it cannot price one', () => {
    const fine = planFleet(fleet([2, 2], { catalog, burstable: { vm00: { vcpus: 2 } } })).cost!;
    assert.equal(fine.burstOut, null);
    assert.deepEqual([fine.summary.burstOut.onPremShort, fine.summary.monthlySavings.burstOut], [false, 0]);
    assert.ok(!Object.is(fine.summary.monthlySavings.burstOut, -0), 'no −0 in a plan (JSON cannot keep it)');
    const unpriced = planFleet(overloaded({ rightsizing: {} })).cost!;
    assert.equal(unpriced.burstOut, null);
    assert.match(unpriced.summary.burstOut.reason, /no catalog to price a burst/);
  });

  it('repatriates cloud VMs onto the fleet as the plan leaves it, when that saves money', () => {
    const s = fleet([2, 2], { catalog, hostProfiles, cloudVms: [cloudVm('c1', 'm.xlarge', { cpuCores: 2 })] });
    const plan = planFleet(s);
    assert.ok(plan.actions.some((a) => a.kind === 'power-off' && a.hostId === 'h1'), 'the plan empties h1');
    const rep = plan.cost!.repatriation!;
    assert.deepEqual(rep.suggestions.map((x) => [x.vmId, x.toHost]), [['c1', 'h2']]);
    // 0.2 USD/h × 730 h = 146.00 in the cloud; h2 4 → 6 cores of 10: 180 → 220 W × 730 h × 0.25 USD/kWh = 7.30 on-prem.
    assert.ok(Math.abs(rep.monthlySavings - (146 - 7.3)) < 1e-9);
    assert.equal(plan.cost!.summary.repatriation.vms, 1);
    assert.equal(plan.cost!.summary.monthlySavings.repatriation, rep.monthlySavings);
    // Without host profiles the on-prem side cannot be priced: nothing comes back, and the summary says why.
    const noProfiles = planFleet({ ...s, cost: { catalog, cloudVms: s.cost!.cloudVms! } }).cost!;
    assert.equal(noProfiles.repatriation, null);
    assert.match(noProfiles.summary.repatriation.reason, /no cost\.hostProfiles/);
  });

  it('brings nothing back while on-prem itself needs to burst', () => {
    const s = overloaded({ catalog, hostProfiles, cloudVms: [cloudVm('c1', 'm.xlarge', { cpuCores: 0.1 })] });
    const rep = planFleet(s).cost!.repatriation!;
    assert.deepEqual(rep.suggestions, []);
    assert.match(rep.reason, /on-prem cannot hold its own forecast demand/);
  });

  it('chooses spot where the constraints allow it and it is cheapest, and sums what spot saves', () => {
    const s = overloaded({ catalog, burst: { constraints: { spotAllowed: true, allowedProviders: ['aws'] } }, rightsizing: { constraints: { spotAllowed: true, allowedProviders: ['aws'] } } });
    s.cost!.burstable = allBurstable(s);
    s.cost!.cloudVms = [cloudVm('api', 'm.2xlarge', { cpuHistory: ramp(2), memUsedHistory: ramp(6 * GIB) })];
    const cost = planFleet(s).cost!;
    assert.ok(cost.burstOut!.suggestions.length > 0 && cost.burstOut!.suggestions.every((x) => x.choice.pricing === 'spot' && x.choice.instance.instanceType === 'm.large'));
    assert.match(cost.burstOut!.suggestions[0]!.reason, /spot capacity can be reclaimed at short notice/);
    const api = cost.rightsizing.find((r) => r.vmId === 'api')!;
    assert.deepEqual([api.recommendedInstance?.instance.instanceType, api.recommendedInstance?.pricing], ['m.xlarge', 'spot']);
    const bursts = cost.burstOut!.suggestions.length;
    assert.equal(cost.summary.spot.recommended, bursts + 1);
    // Each burst on m.large spot saves (0.10 − 0.03) × 730 against on-demand; the resize on m.xlarge spot (0.20 − 0.06) × 730.
    assert.ok(Math.abs(cost.summary.spot.monthlySavingsVsOnDemand - (bursts * 0.07 + 0.14) * 730) < 1e-9);
    // Without spotAllowed the same inputs stay on-demand.
    const onDemand = planFleet({ ...s, cost: { ...s.cost!, burst: {}, rightsizing: {} } }).cost!;
    assert.equal(onDemand.summary.spot.recommended, 0);
  });

  it('is deterministic and JSON-clean: a snapshot saved to JSON replans to the identical plan', () => {
    const s = overloaded({ catalog, hostProfiles });
    s.cost!.burstable = allBurstable(s);
    s.cost!.cloudVms = [cloudVm('c1', 'm.xlarge'), cloudVm('api', 'm.2xlarge', { cpuHistory: ramp(2), memUsedHistory: ramp(6 * GIB) })];
    s.vms.push(sized('sz', 'h2', 0.5, GIB));
    const plan = planFleet(s);
    // Through the snapshot and plan files `novacron plan --snapshot` reads and writes.
    const again = planFleet(parseSnapshot(snapshotToJson(s)));
    assert.equal(planToJson(again), planToJson(plan));
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan, 'no undefined, NaN, Infinity or −0 anywhere');
    const permuted = planFleet({ ...s, hosts: [...s.hosts].reverse(), vms: [...s.vms].reverse(), cost: { ...s.cost!, cloudVms: [...s.cost!.cloudVms!].reverse() } });
    assert.deepEqual(permuted.cost, plan.cost);
  });

  it('refuses bad cost inputs with a typed error naming the field', () => {
    const refuses = (s: FleetSnapshot, field: string) =>
      assert.throws(() => planFleet(s), (e: unknown) => e instanceof NovaError && e.code === 'SCHEDULER_INVALID_SNAPSHOT' && e.details?.field === field && e.message.includes(`"${field}"`), field);
    const base = () => fleet([1, 1]);
    refuses({ ...base(), cost: { catalog, cloudVms: [{ ...cloudVm('c', 'm.large'), instance: { ...cloudVm('c', 'm.large').instance, pricing: 'reserved' as never } }] } }, 'cost.cloudVms[0].instance.pricing');
    refuses({ ...base(), cost: { catalog, cloudVms: [cloudVm('c', 'm.huge')] } }, 'cost.cloudVms[0].instance');
    refuses({ ...base(), cost: { catalog, cloudVms: [cloudVm('vm00', 'm.large')] } }, 'cost.cloudVms[0].vmId');
    refuses({ ...base(), cost: { cloudVms: [cloudVm('c', 'm.large')] } }, 'cost.catalog');
    refuses({ ...base(), cost: { catalog, burst: { spotalowed: true } as never } }, 'cost.burst.spotalowed');
    refuses({ ...base(), cost: { catalog, burstable: { vm00: { vcpus: 0 } } } }, 'cost.burstable.vm00.vcpus');
    refuses({ ...base(), cost: { catalog: { ...catalog, instances: [{ ...catalog.instances[0]!, onDemandPerHour: -1 }] } } }, 'cost.catalog.instances[0].onDemandPerHour');
    refuses({ ...base(), cost: { rightsizing: { cpuPercentile: 95 } } }, 'cost.rightsizing.cpuPercentile');
    refuses({ ...base(), cost: { hostProfiles: { default: { ...hostProfiles.default!, pue: 0.5 } } } }, 'cost.hostProfiles.default.pue');
    refuses({ ...base(), vms: base().vms.map((v) => ({ ...v, memBytes: 0 })), cost: { catalog, burstable: { vm00: { vcpus: 2 } } } }, 'cost.burstable.vm00.memBytes');
    refuses({ ...base(), cost: { catalog, cloudVms: [cloudVm('c', 'm.large')], hostProfiles: { byHost: { h1: hostProfiles.default! } } } }, 'cost.hostProfiles.default');
    const vms = base().vms;
    refuses({ ...base(), vms: [vms[0]!, { ...vms[1]!, memUsedHistory: [1, -1] }] }, 'vms[1].memUsedHistory[1]');
    refuses({ ...base(), vms: [{ ...vms[0]!, configured: { vcpus: 0 } }, vms[1]!] }, 'vms[0].configured.vcpus');
  });
});
