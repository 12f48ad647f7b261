import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NovaError } from '../../core/index.ts';
import type { FleetSnapshot } from '../types.ts';
import { parseCatalog } from './catalog.ts';
import { amortizationPerHour, cloudCostPerHour, hostCostPerHour, HOURS_PER_YEAR, powerCostPerHour, powerWatts, priceFleet, profileFor, type HostCostProfile, type LoadCurve } from './model.ts';

const GIB = 1024 ** 3;
const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);
const hasCode = (code: string) => (err: unknown) => err instanceof NovaError && err.code === code;

// HP ProLiant ML110 G5 SPECpower figures, 0 % … 100 % in steps of 10 %.
const G5 = [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135];
const spec: LoadCurve = { kind: 'points', points: G5.map((watts, i) => ({ utilization: i / 10, watts })) };
const linear: LoadCurve = { kind: 'linear', idleWatts: 100, maxWatts: 300 };

const profile: HostCostProfile = { purchasePrice: 8760, lifetimeHours: 5 * HOURS_PER_YEAR, power: linear, pricePerKWh: 0.2, pue: 1.5 };

describe('power from a load curve', () => {
  it('linear: idle + (max − idle) × u', () => {
    assert.equal(powerWatts(linear, 0), 100);
    assert.equal(powerWatts(linear, 0.25), 150);
    assert.equal(powerWatts(linear, 1), 300);
  });

  it('points: the measured values at the points, straight lines between them', () => {
    G5.forEach((w, i) => assert.equal(powerWatts(spec, i / 10), w));
    close(powerWatts(spec, 0.05), (93.7 + 97) / 2);
    close(powerWatts(spec, 0.73), 125 + 0.3 * (129 - 125));
    // Points need not be evenly spaced.
    const uneven: LoadCurve = { kind: 'points', points: [{ utilization: 0, watts: 50 }, { utilization: 0.2, watts: 150 }, { utilization: 1, watts: 250 }] };
    close(powerWatts(uneven, 0.1), 100);
    close(powerWatts(uneven, 0.6), 200);
  });

  it('is monotone between neighbouring points, and saturates above 100 %', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (u) => {
        const w = powerWatts(spec, u);
        const i = Math.min(Math.floor(u * 10), 9);
        return w >= G5[i]! - 1e-9 && w <= G5[i + 1]! + 1e-9;
      }),
    );
    assert.equal(powerWatts(spec, 1.7), 135);
  });

  it('rejects bad curves and utilisations with COST_MODEL_INVALID', () => {
    assert.throws(() => powerWatts(linear, -0.1), hasCode('COST_MODEL_INVALID'));
    assert.throws(() => powerWatts(linear, Number.NaN), hasCode('COST_MODEL_INVALID'));
    assert.throws(() => powerWatts({ kind: 'points', points: [{ utilization: 0.1, watts: 1 }, { utilization: 1, watts: 2 }] }, 0.5), hasCode('COST_MODEL_INVALID'));
    assert.throws(() => powerWatts({ kind: 'points', points: [{ utilization: 0, watts: 1 }, { utilization: 0.5, watts: 2 }, { utilization: 0.5, watts: 3 }, { utilization: 1, watts: 4 }] }, 0.5), hasCode('COST_MODEL_INVALID'));
    assert.throws(() => powerWatts({ kind: 'linear', idleWatts: -1, maxWatts: 10 }, 0.5), hasCode('COST_MODEL_INVALID'));
  });
});

describe('host cost per hour', () => {
  it('amortisation is purchase price over lifetime hours', () => {
    close(amortizationPerHour(profile), 8760 / (5 * 8760)); // 0.2 per hour
    assert.throws(() => amortizationPerHour({ ...profile, lifetimeHours: 0 }), hasCode('COST_MODEL_INVALID'));
  });

  it('power cost is watts × PUE / 1000 × price per kWh, zero when off', () => {
    // 50 % load: 200 W × 1.5 = 300 W at the meter = 0.3 kWh per hour × 0.2 = 0.06 per hour.
    const p = powerCostPerHour(profile, 0.5);
    assert.equal(p.watts, 200);
    close(p.perHour, 0.06);
    assert.deepEqual(powerCostPerHour(profile, 0.5, false), { watts: 0, perHour: 0 });
  });

  it('total = amortisation + power; amortisation is paid when off too', () => {
    const on = hostCostPerHour(profile, 0.5);
    close(on.totalPerHour, 0.2 + 0.06);
    const off = hostCostPerHour(profile, 0, false);
    close(off.totalPerHour, 0.2);
  });

  it('a host without a profile is an error, unless there is a default', () => {
    assert.throws(() => profileFor({ byHost: {} }, 'h1'), hasCode('COST_HOST_PROFILE_MISSING'));
    assert.equal(profileFor({ default: profile }, 'h1'), profile);
  });
});

describe('cloud cost and fleet pricing', () => {
  const catalog = parseCatalog({
    version: 1,
    currency: 'EUR',
    instances: [
      { provider: 'p', region: 'r', instanceType: 'small', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1, spotPerHour: 0.04 },
      { provider: 'p', region: 'r', zone: 'r-a', instanceType: 'small', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1, spotPerHour: 0.03 },
      { provider: 'p', region: 'r', instanceType: 'nospot', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1 },
    ],
  });

  it('prices on-demand and spot, a zone first then its region', () => {
    assert.equal(cloudCostPerHour(catalog, { provider: 'p', region: 'r', instanceType: 'small', pricing: 'on-demand' }), 0.1);
    assert.equal(cloudCostPerHour(catalog, { provider: 'p', region: 'r', instanceType: 'small', pricing: 'spot' }), 0.04);
    assert.equal(cloudCostPerHour(catalog, { provider: 'p', region: 'r', zone: 'r-a', instanceType: 'small', pricing: 'spot' }), 0.03);
    assert.equal(cloudCostPerHour(catalog, { provider: 'p', region: 'r', zone: 'r-b', instanceType: 'small', pricing: 'spot' }), 0.04);
    assert.throws(() => cloudCostPerHour(catalog, { provider: 'p', region: 'r', instanceType: 'nospot', pricing: 'spot' }), hasCode('COST_SPOT_PRICE_MISSING'));
    assert.throws(() => cloudCostPerHour(catalog, { provider: 'q', region: 'r', instanceType: 'small', pricing: 'on-demand' }), hasCode('COST_INSTANCE_UNKNOWN'));
  });

  it('prices a fleet for a horizon: running hosts at their p95 load, empty hosts off, cloud VMs at their billing', () => {
    const snapshot: FleetSnapshot = {
      takenAt: 0,
      hosts: [
        { hostId: 'h2', cpuCores: 10, memBytes: 64 * GIB },
        { hostId: 'h1', cpuCores: 10, memBytes: 64 * GIB },
      ],
      vms: [
        { vmId: 'a', hostId: 'h1', cpuCores: 3, memBytes: 4 * GIB },
        { vmId: 'b', hostId: 'h1', cpuCores: 2, memBytes: 4 * GIB },
      ],
    };
    const cost = priceFleet(
      { snapshot, hostProfiles: { default: profile }, catalog, cloudVms: [{ vmId: 'c', instance: { provider: 'p', region: 'r', instanceType: 'small', pricing: 'spot' }, cpuCores: 1, memBytes: 8 * GIB }] },
      10,
    );
    assert.equal(cost.currency, 'EUR');
    assert.deepEqual(cost.hosts.map((h) => [h.hostId, h.vmCount, h.poweredOn, h.watts]), [
      ['h1', 2, true, 200],
      ['h2', 0, false, 0],
    ]);
    close(cost.hosts[0]!.total, (0.2 + 0.06) * 10);
    close(cost.hosts[1]!.total, 0.2 * 10);
    close(cost.cloudTotal, 0.4);
    close(cost.total, 2.6 + 2 + 0.4);
    close(cost.perMonth, (5 / 10) * 730);
    const idle = priceFleet({ snapshot, hostProfiles: { default: profile }, catalog, emptyHostsPoweredOn: true }, 10);
    assert.equal(idle.hosts[1]!.watts, 100);
  });

  it('is deterministic: permuted input, identical output', () => {
    const hosts = Array.from({ length: 20 }, (_, i) => ({ hostId: `h${i}`, cpuCores: 8 + (i % 3), memBytes: 32 * GIB }));
    const vms = Array.from({ length: 60 }, (_, i) => ({ vmId: `v${i}`, hostId: `h${i % 20}`, cpuCores: 0.1 + (i % 7) * 0.37, memBytes: GIB }));
    const a = priceFleet({ snapshot: { takenAt: 0, hosts, vms }, hostProfiles: { default: profile }, catalog }, 24);
    const b = priceFleet({ snapshot: { takenAt: 0, hosts: [...hosts].reverse(), vms: [...vms].reverse() }, hostProfiles: { default: profile }, catalog }, 24);
    assert.deepEqual(a, b);
  });
});
