import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NovaError } from '../../core/index.ts';
import { parseCatalog, type InstanceCatalog } from './catalog.ts';
import { cheapestPlacement } from './placement.ts';
import { cheapestFit, instanceFits, narrowConstraints, offerAllowed } from './select.ts';
import type { CloudConstraints } from './types.ts';

const GIB = 1024 ** 3;
const catalog = parseCatalog({
  version: 1,
  currency: 'USD',
  instances: [
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.large', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1, spotPerHour: 0.03 },
    { provider: 'aws', region: 'us-east-1', instanceType: 'm.xlarge', vcpus: 4, memoryGiB: 16, onDemandPerHour: 0.2, spotPerHour: 0.06 },
    { provider: 'aws', region: 'us-east-1', zone: 'us-east-1a', instanceType: 'm.xlarge', vcpus: 4, memoryGiB: 16, onDemandPerHour: 0.2, spotPerHour: 0.05 },
    { provider: 'gcp', region: 'us-central1', instanceType: 'n.4', vcpus: 4, memoryGiB: 16, onDemandPerHour: 0.19 },
    { provider: 'gcp', region: 'us-central1', instanceType: 'n.8', vcpus: 8, memoryGiB: 32, onDemandPerHour: 0.38 },
    { provider: 'azure', region: 'eastus', instanceType: 'D4', vcpus: 4, memoryGiB: 16, onDemandPerHour: 0.195, spotPerHour: 0.04 },
  ],
});

describe('cheapestPlacement', () => {
  it('picks the cheapest offer that holds the request, and explains with the runner-up', () => {
    const d = cheapestPlacement({ vmId: 'web', vcpus: 3, memBytes: 12 * GIB }, catalog);
    assert.equal(d.choice?.instance.instanceType, 'n.4');
    assert.equal(d.choice?.pricing, 'on-demand');
    assert.match(d.reason, /web needs 3 vCPUs \/ 12\.00 GiB/);
    assert.match(d.reason, /gcp n\.4 \(us-central1\) on-demand, 4 vCPUs \/ 16 GiB at 0\.1900 USD\/h \(138\.70 USD\/month, 1 vCPUs and 4\.00 GiB spare\)/);
    assert.match(d.reason, /next: azure D4 \(eastus\) on-demand at 0\.1950 USD\/h \(\+3\.65 USD\/month\)/);
  });

  it('uses spot only when the policy allows it and the request does not refuse it', () => {
    assert.equal(cheapestPlacement({ vmId: 'x', vcpus: 4, memBytes: 16 * GIB, spotAllowed: true }, catalog).choice?.pricing, 'on-demand');
    const spot = cheapestPlacement({ vmId: 'x', vcpus: 4, memBytes: 16 * GIB }, catalog, { spotAllowed: true });
    assert.deepEqual([spot.choice?.instance.instanceType, spot.choice?.pricing, spot.choice?.pricePerHour], ['D4', 'spot', 0.04]);
    assert.match(spot.reason, /reclaimed/);
    assert.equal(cheapestPlacement({ vmId: 'x', vcpus: 4, memBytes: 16 * GIB, spotAllowed: false }, catalog, { spotAllowed: true }).choice?.pricing, 'on-demand');
  });

  it('respects allowed providers, regions and zones (a zone admits only offers priced for it)', () => {
    const req = { vmId: 'x', vcpus: 4, memBytes: 16 * GIB };
    assert.equal(cheapestPlacement({ ...req, allowedProviders: ['aws'] }, catalog).choice?.instance.instanceType, 'm.xlarge');
    const zoned = cheapestPlacement({ ...req, allowedZones: ['us-east-1a'] }, catalog, { spotAllowed: true });
    assert.equal(zoned.choice?.instance.zone, 'us-east-1a');
    assert.equal(zoned.choice?.pricePerHour, 0.05);
    // The policy's list and the request's intersect.
    assert.equal(cheapestPlacement({ ...req, allowedProviders: ['aws', 'gcp'] }, catalog, { allowedProviders: ['gcp', 'azure'] }).choice?.instance.provider, 'gcp');
  });

  it('returns null with a reason when nothing is allowed or nothing fits', () => {
    const none = cheapestPlacement({ vmId: 'x', vcpus: 2, memBytes: GIB, allowedProviders: ['oracle'] }, catalog);
    assert.equal(none.choice, null);
    assert.match(none.reason, /no catalog offer is allowed \(providers oracle; regions any; zones any; spot not allowed\) among 6 offers/);
    const big = cheapestPlacement({ vmId: 'db', vcpus: 16, memBytes: 128 * GIB, allowedProviders: ['aws'] }, catalog);
    assert.equal(big.choice, null);
    assert.match(big.reason, /none of the 3 allowed offers holds it \(largest allowed: 4 vCPUs, 16 GiB/);
  });

  it('rejects invalid requests with a code', () => {
    assert.throws(() => cheapestPlacement({ vmId: 'x', vcpus: 0, memBytes: GIB }, catalog), (e: unknown) => e instanceof NovaError && e.code === 'COST_INVALID_INPUT');
  });
});

// Random catalogs over a few providers/regions/zones, with and without spot prices.
const offer = fc.record(
  {
    provider: fc.constantFrom('aws', 'gcp', 'azure'),
    region: fc.constantFrom('r1', 'r2'),
    zone: fc.constantFrom('z1', 'z2'),
    instanceType: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
    vcpus: fc.integer({ min: 1, max: 64 }),
    memoryGiB: fc.constantFrom(0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256),
    onDemandPerHour: fc.integer({ min: 0, max: 400 }).map((c) => c / 100),
    spotPerHour: fc.integer({ min: 0, max: 400 }).map((c) => c / 100),
  },
  { requiredKeys: ['provider', 'region', 'instanceType', 'vcpus', 'memoryGiB', 'onDemandPerHour'] },
);
const catalogs = fc.uniqueArray(offer, { minLength: 1, maxLength: 30, selector: (o) => `${o.provider}/${o.region}/${o.zone ?? ''}/${o.instanceType}` }).map((instances): InstanceCatalog => parseCatalog({ version: 1, currency: 'USD', instances }));
const sub = <T,>(xs: readonly T[]) => fc.option(fc.subarray([...xs]), { nil: undefined });
const constraints = fc.record({ allowedProviders: sub(['aws', 'gcp', 'azure']), allowedRegions: sub(['r1', 'r2']), allowedZones: sub(['z1', 'z2']), spotAllowed: fc.boolean() });
const strip = (c: { allowedProviders: string[] | undefined; allowedRegions: string[] | undefined; allowedZones: string[] | undefined; spotAllowed: boolean }): CloudConstraints => JSON.parse(JSON.stringify(c));
const needs = fc.record({ vcpus: fc.double({ min: 0.1, max: 70, noNaN: true }), memBytes: fc.double({ min: 0.1 * GIB, max: 300 * GIB, noNaN: true }) });

describe('cheapest fit (property)', () => {
  it('the chosen offer fits and is allowed, and no cheaper allowed offer fits', () => {
    fc.assert(
      fc.property(catalogs, needs, constraints, (cat, need, raw) => {
        const c = strip(raw);
        const choice = cheapestFit(cat, need, c);
        const prices = cat.instances.filter((it) => offerAllowed(it, c) && instanceFits(it, need)).flatMap((it) => [it.onDemandPerHour, ...(c.spotAllowed && it.spotPerHour !== undefined ? [it.spotPerHour] : [])]);
        if (choice === null) return prices.length === 0;
        assert.ok(instanceFits(choice.instance, need) && offerAllowed(choice.instance, c));
        assert.ok(choice.instance.vcpus >= need.vcpus && choice.instance.memoryGiB * GIB >= need.memBytes * (1 - 1e-9));
        if (choice.pricing === 'spot') assert.ok(c.spotAllowed);
        assert.equal(choice.pricePerHour, Math.min(...prices));
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('cheapestPlacement agrees with it and does not depend on the catalog order', () => {
    fc.assert(
      fc.property(catalogs, needs, constraints, constraints, (cat, need, policy, request) => {
        const d = cheapestPlacement({ vmId: 'v', ...need, ...strip(request) }, cat, strip(policy));
        const reversed = parseCatalog({ version: 1, currency: 'USD', instances: [...cat.instances].reverse() });
        const r = cheapestPlacement({ vmId: 'v', ...need, ...strip(request) }, reversed, strip(policy));
        assert.deepEqual(d, r);
        assert.deepEqual(d.choice, cheapestFit(cat, need, narrowConstraints(strip(policy), strip(request))));
        assert.equal(typeof d.reason, 'string');
      }),
      { numRuns: 300 },
    );
  });
});
