import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NovaError } from '../../core/index.ts';
import { parseCatalog } from './catalog.ts';
import { DEFAULT_RIGHTSIZING_POLICY, percentile, recommendRightsizing, rightsizeVm, sizeFor, type RightsizingVm } from './rightsizing.ts';
import { cheapestFit, instanceFits } from './select.ts';

const GIB = 1024 ** 3;
const catalog = parseCatalog({
  version: 1,
  currency: 'USD',
  instances: [
    { provider: 'aws', region: 'us-east-1', instanceType: 'c.large', vcpus: 2, memoryGiB: 4, onDemandPerHour: 0.09, spotPerHour: 0.03 },
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.large', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1, spotPerHour: 0.035 },
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.xlarge', vcpus: 4, memoryGiB: 16, onDemandPerHour: 0.2, spotPerHour: 0.07 },
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.2xlarge', vcpus: 8, memoryGiB: 32, onDemandPerHour: 0.4, spotPerHour: 0.14 },
    { provider: 'aws', region: 'us-east-1', instanceType: 'r.large', vcpus: 2, memoryGiB: 16, onDemandPerHour: 0.13 },
    { provider: 'gcp', region: 'us-central1', instanceType: 'e2-standard-2', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.068 },
  ],
});

// 100 samples 0, 0.01, …, 0.99 scaled: p95 = 0.9405 × scale, p99 = 0.9801 × scale.
const ramp = (scale: number) => Array.from({ length: 100 }, (_, i) => (i / 100) * scale);
const onAws = { kind: 'cloud' as const, instance: { provider: 'aws', region: 'us-east-1', instanceType: 'm.2xlarge', pricing: 'on-demand' as const } };

describe('sizing from percentiles + headroom', () => {
  it('percentile interpolates between order statistics (numpy default)', () => {
    assert.equal(percentile([3, 1, 2, 4], 0.5), 2.5);
    assert.ok(Math.abs(percentile(ramp(1), 0.95) - 0.9405) < 1e-12);
  });

  it('p95 CPU + 20 % → whole vCPUs, p99 memory + 10 % → 256 MiB steps', () => {
    assert.deepEqual(sizeFor(1.5, 3 * GIB), { vcpus: 2, memBytes: 3.5 * GIB }); // 1.8 → 2; 3.3 GiB → 3.5
    assert.deepEqual(sizeFor(2.5, 4 * GIB), { vcpus: 3, memBytes: 4.5 * GIB }); // 2.5 × 1.2 is 3.0000000000000004 in floats
    assert.deepEqual(sizeFor(0, 0), { vcpus: 1, memBytes: 0.25 * GIB });
  });
});

describe('rightsizeVm', () => {
  it('cloud: recommends the cheapest offer that fits in the same provider and region, with monthly savings and the numbers', () => {
    const r = rightsizeVm({ vmId: 'api', vcpus: 8, memBytes: 32 * GIB, location: onAws, cpuCoresHistory: ramp(2), memBytesHistory: ramp(6 * GIB) }, catalog);
    // p95 CPU 1.881 × 1.2 = 2.26 → 3 vCPUs; p99 memory 5.88 GiB × 1.1 = 6.47 → 6.5 GiB.
    assert.deepEqual(r.recommended, { vcpus: 3, memBytes: 6.5 * GIB });
    assert.equal(r.action, 'downsize');
    assert.equal(r.recommendedInstance?.instance.instanceType, 'm.xlarge', 'gcp is cheaper but a resize stays with its provider and region');
    assert.ok(Math.abs(r.monthlySavings! - 0.2 * 730) < 1e-9);
    assert.match(r.reason, /p95 CPU 1\.88 cores over 100 samples \+ 20% headroom = 2\.26 → 3 vCPUs/);
    assert.match(r.reason, /p99 memory 5\.88 GiB over 100 samples \+ 10% headroom = 6\.47 → 6\.50 GiB/);
    assert.match(r.reason, /saves 146\.00 USD\/month/);
  });

  it('cloud: the policy or the VM may widen the choice, and allow spot', () => {
    const vm: RightsizingVm = { vmId: 'api', vcpus: 8, memBytes: 32 * GIB, location: onAws, cpuCoresHistory: ramp(1), memBytesHistory: ramp(6 * GIB) };
    const anywhere = rightsizeVm(vm, catalog, { ...DEFAULT_RIGHTSIZING_POLICY, constraints: {} });
    assert.equal(anywhere.recommendedInstance?.instance.instanceType, 'e2-standard-2');
    const spot = rightsizeVm({ ...vm, constraints: { allowedProviders: ['aws'], spotAllowed: true } }, catalog);
    assert.deepEqual([spot.recommendedInstance?.instance.instanceType, spot.recommendedInstance?.pricing], ['m.large', 'spot']);
    assert.match(spot.reason, /reclaimed/);
  });

  it('uses the forecast p95 instead of history when given', () => {
    const r = rightsizeVm(
      { vmId: 'f', vcpus: 8, memBytes: 32 * GIB, location: onAws, cpuCoresHistory: ramp(8), memBytesHistory: ramp(30 * GIB), forecast: { p95CpuCores: 0.5, p95MemBytes: 2 * GIB, method: 'ewma', horizonMinutes: 60 } },
      catalog,
    );
    assert.equal(r.basis, 'forecast');
    assert.deepEqual(r.recommended, { vcpus: 1, memBytes: 2.25 * GIB });
    assert.equal(r.recommendedInstance?.instance.instanceType, 'c.large');
    assert.match(r.reason, /p95 CPU 0\.50 cores \(forecast ewma, next 60 min\)/);
  });

  it('keeps a cloud VM already on the cheapest fitting offer; grows one that is too small', () => {
    const keep = rightsizeVm({ vmId: 'k', vcpus: 4, memBytes: 16 * GIB, location: { kind: 'cloud', instance: { ...onAws.instance, instanceType: 'm.xlarge' } }, cpuCoresHistory: ramp(3), memBytesHistory: ramp(10 * GIB) }, catalog);
    assert.equal(keep.action, 'keep');
    assert.equal(keep.monthlySavings, 0);
    const grow = rightsizeVm({ vmId: 'g', vcpus: 2, memBytes: 8 * GIB, location: { kind: 'cloud', instance: { ...onAws.instance, instanceType: 'm.large' } }, cpuCoresHistory: ramp(2.1), memBytesHistory: ramp(4 * GIB) }, catalog);
    assert.equal(grow.action, 'upsize');
    assert.equal(grow.recommendedInstance?.instance.instanceType, 'm.xlarge');
    assert.ok(grow.monthlySavings! < 0);
    assert.match(grow.reason, /costs 73\.00 USD more per month/);
  });

  it('reports no-fit and insufficient data instead of guessing', () => {
    const huge = rightsizeVm({ vmId: 'h', vcpus: 8, memBytes: 32 * GIB, location: onAws, cpuCoresHistory: ramp(8), memBytesHistory: ramp(8 * GIB) }, catalog);
    assert.equal(huge.action, 'no-fit');
    assert.equal(huge.recommendedInstance, null);
    const thin = rightsizeVm({ vmId: 't', vcpus: 8, memBytes: 32 * GIB, location: onAws, cpuCoresHistory: [1, 2], memBytesHistory: [GIB, GIB] }, catalog);
    assert.equal(thin.action, 'insufficient-data');
    assert.equal(thin.recommended, null);
    assert.match(thin.reason, /2 CPU and 2 memory samples, fewer than the 24/);
  });

  it('on-prem: recommends a size, frees capacity, names no price', () => {
    const r = rightsizeVm({ vmId: 'db', vcpus: 8, memBytes: 16 * GIB, location: { kind: 'on-prem', hostId: 'kvm-3' }, cpuCoresHistory: ramp(2), memBytesHistory: ramp(6 * GIB) }, catalog);
    assert.equal(r.action, 'downsize');
    assert.equal(r.monthlySavings, null);
    assert.equal(r.recommendedInstance, undefined);
    assert.match(r.reason, /freeing 5 vCPUs and 9\.50 GiB on kvm-3/);
  });

  it('rejects invalid input and policies with a code', () => {
    const bad = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof NovaError && e.code === 'COST_INVALID_INPUT');
    bad(() => rightsizeVm({ vmId: 'x', vcpus: 2, memBytes: GIB, location: { kind: 'on-prem', hostId: 'h' }, cpuCoresHistory: [...ramp(1), Number.NaN], memBytesHistory: ramp(GIB) }, catalog));
    bad(() => recommendRightsizing([], catalog, { ...DEFAULT_RIGHTSIZING_POLICY, cpuPercentile: 95 }));
  });
});

describe('rightsizing (property)', () => {
  it('never recommends an offer smaller than the percentile + headroom, and no cheaper allowed offer fits', () => {
    const samples = (max: number) => fc.array(fc.double({ min: 0, max, noNaN: true }), { minLength: 24, maxLength: 60 });
    fc.assert(
      fc.property(samples(8), samples(40 * GIB), fc.constantFrom('m.large', 'm.xlarge', 'm.2xlarge', 'r.large'), fc.boolean(), (cpu, mem, type, spot) => {
        const [r] = recommendRightsizing(
          [{ vmId: 'v', vcpus: 8, memBytes: 32 * GIB, location: { kind: 'cloud', instance: { provider: 'aws', region: 'us-east-1', instanceType: type, pricing: 'on-demand' } }, cpuCoresHistory: cpu, memBytesHistory: mem, constraints: { spotAllowed: spot } }],
          catalog,
        );
        const p = DEFAULT_RIGHTSIZING_POLICY;
        const cpuNeed = percentile(cpu, p.cpuPercentile) * (1 + p.cpuHeadroom);
        const memNeed = percentile(mem, p.memPercentile) * (1 + p.memHeadroom);
        assert.ok(r!.recommended!.vcpus >= cpuNeed * (1 - 1e-12) && r!.recommended!.memBytes >= memNeed * (1 - 1e-12));
        const pick = r!.recommendedInstance;
        if (pick === null) return cheapestFit(catalog, r!.recommended!, { spotAllowed: spot }) === null;
        assert.ok(pick!.instance.vcpus >= cpuNeed * (1 - 1e-12) && pick!.instance.memoryGiB * GIB >= memNeed * (1 - 1e-9));
        for (const it of catalog.instances) {
          if (!instanceFits(it, r!.recommended!)) continue;
          assert.ok(it.onDemandPerHour >= pick!.pricePerHour);
          if (spot && it.spotPerHour !== undefined) assert.ok(it.spotPerHour >= pick!.pricePerHour);
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic', () => {
    const vms: RightsizingVm[] = Array.from({ length: 30 }, (_, i) => ({ vmId: `v${i}`, vcpus: 8, memBytes: 32 * GIB, location: onAws, cpuCoresHistory: ramp(1 + (i % 5)), memBytesHistory: ramp((2 + i) * GIB) }));
    assert.deepEqual(recommendRightsizing(vms, catalog), recommendRightsizing(vms, catalog));
  });
});
