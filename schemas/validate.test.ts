import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { validateSample, DEFAULT_LIMITS, SampleError, type HostSample, type Sample, type VmSample } from './index.ts';

// A fixed "now" far from the real clock: the tests pass only if the injected `now` is used.
const NOW = Date.UTC(2021, 2, 3, 12, 0, 0);
const MIN = 60_000;
const DAY = 86_400_000;

const hostSample = (over: Partial<HostSample> = {}): Sample => ({
  kind: 'host',
  sample: {
    ts: NOW - MIN, hostId: 'kvm-01', cpuUsedCores: 10, cpuCapacityCores: 32, memUsedBytes: 60e9, memTotalBytes: 128e9,
    diskReadBps: 1e6, diskWriteBps: 2e6, netRxBps: 3e6, netTxBps: 4e6, cpuStealPct: 1.5, ...over,
  },
});
const vmSample = (over: Partial<VmSample> = {}): Sample => ({
  kind: 'vm',
  sample: {
    ts: NOW - MIN, hostId: 'kvm-01', vmId: 'vm-42', cpuUsedCores: 1.5, vcpus: 4, memUsedBytes: 3e9, memTotalBytes: 8e9,
    diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0, ...over,
  },
});

/** Asserts the sample is rejected as SAMPLE_INVALID_FIELD naming `field`. */
function rejects(sample: Sample, field: string, now = NOW, limits = DEFAULT_LIMITS): void {
  assert.throws(
    () => validateSample(sample, now, limits),
    (err: unknown) => {
      assert.ok(err instanceof SampleError, `expected SampleError, got ${String(err)}`);
      assert.equal(err.code, 'SAMPLE_INVALID_FIELD');
      assert.equal(err.field, field);
      assert.match(err.message, new RegExp(`^${field}\\b`));
      return true;
    },
  );
}
const accepts = (sample: Sample, now = NOW, limits = DEFAULT_LIMITS): void => assert.doesNotThrow(() => validateSample(sample, now, limits));

describe('validateSample', () => {
  test('accepts normal host and VM samples', () => {
    accepts(hostSample());
    accepts(vmSample());
    accepts(hostSample({ cpuUsedCores: 0, cpuStealPct: 100, memUsedBytes: 128e9 }));
    accepts(vmSample({ vcpuDelayPct: 100, cpuUsedCores: 4, hostId: 'a'.repeat(128) }));
  });

  test('rejects NaN, infinite and negative CPU use', () => {
    rejects(hostSample({ cpuUsedCores: Number.NaN }), 'cpuUsedCores');
    rejects(vmSample({ cpuUsedCores: Number.NaN }), 'cpuUsedCores');
    rejects(vmSample({ cpuUsedCores: Number.POSITIVE_INFINITY }), 'cpuUsedCores');
    rejects(hostSample({ cpuUsedCores: -0.01 }), 'cpuUsedCores');
    rejects(vmSample({ cpuUsedCores: -1 }), 'cpuUsedCores');
  });

  test('allows CPU use up to 5 % over capacity and rejects beyond', () => {
    accepts(hostSample({ cpuUsedCores: 32 * 1.04 }));
    accepts(hostSample({ cpuUsedCores: 32 * 1.05 }));
    rejects(hostSample({ cpuUsedCores: 32 * 1.06 }), 'cpuUsedCores');
    accepts(vmSample({ vcpus: 2, cpuUsedCores: 2.09 }));
    rejects(vmSample({ vcpus: 2, cpuUsedCores: 2.11 }), 'cpuUsedCores');
  });

  test('the slack comes from the limits argument', () => {
    const strict = { ...DEFAULT_LIMITS, capacitySlack: 1 };
    rejects(hostSample({ cpuUsedCores: 32.5 }), 'cpuUsedCores', NOW, strict);
    accepts(hostSample({ cpuUsedCores: 32 }), NOW, strict);
  });

  test('rejects zero, negative or NaN capacity, naming the capacity field', () => {
    rejects(hostSample({ cpuCapacityCores: 0, cpuUsedCores: 0 }), 'cpuCapacityCores');
    rejects(hostSample({ cpuCapacityCores: -4 }), 'cpuCapacityCores');
    rejects(hostSample({ cpuCapacityCores: Number.NaN }), 'cpuCapacityCores');
    rejects(vmSample({ vcpus: 0, cpuUsedCores: 0 }), 'vcpus');
  });

  test('rejects memory used beyond total (past the slack) and zero total', () => {
    rejects(hostSample({ memUsedBytes: 128e9 * 1.06 }), 'memUsedBytes');
    rejects(vmSample({ memUsedBytes: 8e9 * 4 }), 'memUsedBytes');
    rejects(vmSample({ memUsedBytes: -1 }), 'memUsedBytes');
    rejects(vmSample({ memTotalBytes: 0, memUsedBytes: 0 }), 'memTotalBytes');
  });

  test('rejects timestamps more than 5 minutes in the future, relative to the injected now', () => {
    accepts(vmSample({ ts: NOW + 5 * MIN }));
    rejects(vmSample({ ts: NOW + 5 * MIN + 1 }), 'ts');
    rejects(hostSample({ ts: NOW + DAY }), 'ts');
    // Same sample, earlier clock: now it is in the future.
    accepts(vmSample({ ts: NOW }));
    rejects(vmSample({ ts: NOW }), 'ts', NOW - 10 * MIN);
  });

  test('rejects timestamps older than 400 days', () => {
    accepts(vmSample({ ts: NOW - 399 * DAY }));
    rejects(vmSample({ ts: NOW - 401 * DAY }), 'ts');
    rejects(hostSample({ ts: NOW - 401 * DAY }), 'ts');
    rejects(vmSample({ ts: NOW - 10 * DAY }), 'ts', NOW, { ...DEFAULT_LIMITS, maxAgeMs: 7 * DAY });
  });

  test('rejects non-integer, zero, negative and unsafe timestamps', () => {
    rejects(vmSample({ ts: NOW - 0.5 }), 'ts');
    rejects(vmSample({ ts: 0 }), 'ts');
    rejects(vmSample({ ts: -NOW }), 'ts');
    rejects(vmSample({ ts: Number.NaN }), 'ts');
    rejects(vmSample({ ts: 2 ** 60 }), 'ts', 2 ** 60);
  });

  test('rejects empty, too long, comma, quote, backslash and control-character ids', () => {
    for (const bad of ['', 'a'.repeat(129), 'a,b', 'a"b', 'a\\b', 'a\nb', 'a\tb']) {
      rejects(hostSample({ hostId: bad }), 'hostId');
      rejects(vmSample({ hostId: bad }), 'hostId');
      rejects(vmSample({ vmId: bad }), 'vmId');
    }
    accepts(vmSample({ vmId: 'web 1.example_com-x' }));
  });

  test('rejects percentages over 100 or negative', () => {
    rejects(hostSample({ cpuStealPct: 100.01 }), 'cpuStealPct');
    rejects(hostSample({ cpuStealPct: -1 }), 'cpuStealPct');
    rejects(vmSample({ vcpuDelayPct: 101 }), 'vcpuDelayPct');
    rejects(vmSample({ vcpuDelayPct: Number.NaN }), 'vcpuDelayPct');
  });

  test('rejects negative or non-finite throughput counters, naming each', () => {
    for (const f of ['diskReadBps', 'diskWriteBps', 'netRxBps', 'netTxBps'] as const) {
      rejects(vmSample({ [f]: -1 }), f);
      rejects(hostSample({ [f]: Number.NaN }), f);
    }
  });

  test('rejects impossibly large capacities, memory and rates, naming each field', () => {
    accepts(hostSample({ cpuCapacityCores: 4096, cpuUsedCores: 4000 }));
    rejects(hostSample({ cpuCapacityCores: 4097 }), 'cpuCapacityCores');
    rejects(vmSample({ vcpus: 1e9 }), 'vcpus');
    rejects(vmSample({ vcpus: Number.MAX_VALUE }), 'vcpus');
    accepts(vmSample({ memTotalBytes: 2 ** 50, memUsedBytes: 2 ** 49 }));
    rejects(vmSample({ memTotalBytes: 2 ** 50 + 1 }), 'memTotalBytes');
    rejects(hostSample({ memTotalBytes: Number.MAX_SAFE_INTEGER }), 'memTotalBytes');
    for (const f of ['diskReadBps', 'diskWriteBps', 'netRxBps', 'netTxBps'] as const) {
      accepts(vmSample({ [f]: 1e12 }));
      rejects(vmSample({ [f]: 1e12 + 1 }), f);
      rejects(hostSample({ [f]: 1e300 }), f);
      rejects(vmSample({ [f]: Number.POSITIVE_INFINITY }), f);
    }
    // The bounds come from the limits argument.
    rejects(vmSample({ vcpus: 8, cpuUsedCores: 1 }), 'vcpus', NOW, { ...DEFAULT_LIMITS, maxCores: 4 });
  });

  test('rejects NaN and infinite capacities and percentages with the field named', () => {
    rejects(vmSample({ vcpus: Number.NaN }), 'vcpus');
    rejects(hostSample({ cpuCapacityCores: Number.POSITIVE_INFINITY }), 'cpuCapacityCores');
    rejects(hostSample({ cpuStealPct: Number.NaN }), 'cpuStealPct');
    rejects(vmSample({ vcpuDelayPct: Number.NEGATIVE_INFINITY }), 'vcpuDelayPct');
  });

  test('rejects timestamps years in the future or the past', () => {
    rejects(vmSample({ ts: NOW + 365 * DAY }), 'ts');
    rejects(hostSample({ ts: NOW + 30 * 365 * DAY }), 'ts');
    rejects(vmSample({ ts: NOW - 20 * 365 * DAY }), 'ts');
    rejects(hostSample({ ts: 1 }), 'ts');
  });

  test('uses Date.now() when no clock is given', () => {
    const t = Date.now();
    assert.doesNotThrow(() => validateSample(vmSample({ ts: t })));
    // NOW (March 2021) is more than 400 days before the real clock: without an injected now it is too old.
    assert.throws(() => validateSample(vmSample({ ts: NOW })), SampleError);
  });
});
