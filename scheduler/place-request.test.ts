import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCatalog } from './cost/index.ts';
import { placeRequest } from './place-request.ts';
import { PlacementState } from './placement.ts';

const GIB = 1024 ** 3;
const catalog = parseCatalog({
  version: 1,
  currency: 'USD',
  instances: [
    { provider: 'aws', region: 'r1', instanceType: 'small', vcpus: 2, memoryGiB: 4, onDemandPerHour: 0.1, spotPerHour: 0.03 },
    { provider: 'aws', region: 'r1', instanceType: 'big', vcpus: 8, memoryGiB: 32, onDemandPerHour: 0.4 },
    { provider: 'gcp', region: 'r2', instanceType: 'mid', vcpus: 4, memoryGiB: 16, onDemandPerHour: 0.15 },
  ],
});
const state = () => new PlacementState({ takenAt: 0, hosts: [{ hostId: 'h1', cpuCores: 10, memBytes: 64 * GIB }], vms: [{ vmId: 'a', hostId: 'h1', cpuCores: 6, memBytes: 8 * GIB }] });

describe('placeRequest', () => {
  it('prefers an on-prem host under target, sized on expected CPU when given', () => {
    const out = placeRequest(state(), { vmId: 'n', vcpus: 4, memBytes: 4 * GIB, expectedCpuCores: 1 }, catalog);
    assert.deepEqual([out.target, out.target === 'host' && out.hostId], ['host', 'h1']);
  });

  it('goes to the cheapest allowed cloud offer when no host takes it, and says why', () => {
    const out = placeRequest(state(), { vmId: 'n', vcpus: 4, memBytes: 8 * GIB }, catalog);
    assert.equal(out.target, 'cloud');
    if (out.target !== 'cloud') return;
    assert.equal(out.instanceType, 'mid'); // 0.15 $/h beats aws big at 0.40
    assert.match(out.reason, /no on-prem host takes n/);
    const aws = placeRequest(state(), { vmId: 'n', vcpus: 4, memBytes: 8 * GIB, allowedProviders: ['aws'] }, catalog);
    assert.equal(aws.target === 'cloud' && aws.instanceType, 'big');
  });

  it('uses spot only when the request allows it', () => {
    const onDemand = placeRequest(null, { vmId: 'n', vcpus: 2, memBytes: 2 * GIB, target: 'cloud' }, catalog);
    const spot = placeRequest(null, { vmId: 'n', vcpus: 2, memBytes: 2 * GIB, target: 'cloud', spotAllowed: true }, catalog);
    assert.equal(onDemand.target === 'cloud' && onDemand.pricing, 'on-demand');
    assert.equal(spot.target === 'cloud' && spot.pricePerHour, 0.03);
  });

  it('answers none with every reason when nothing may take it', () => {
    const onPremOnly = placeRequest(state(), { vmId: 'n', vcpus: 8, memBytes: 8 * GIB, target: 'on-prem' }, catalog);
    assert.equal(onPremOnly.target, 'none');
    const nothing = placeRequest(state(), { vmId: 'n', vcpus: 64, memBytes: 8 * GIB }, undefined);
    assert.equal(nothing.target, 'none');
    assert.match(nothing.reason, /no on-prem host.*no cloud catalog/);
  });
});
