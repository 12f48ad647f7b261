import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSample, encodeVmSample, SampleError, validateSample, type VmSample } from '../schemas/index.ts';
import { malformedVariant } from './index.ts';

const TS = Date.UTC(2024, 0, 1, 12);
const template: VmSample = {
  ts: TS, hostId: 'host-001', vmId: 'host-001-vm-01', cpuUsedCores: 1.2, vcpus: 2, memUsedBytes: 2 * 1024 ** 3, memTotalBytes: 4 * 1024 ** 3,
  diskReadBps: 100, diskWriteBps: 200, netRxBps: 300, netTxBps: 400, vcpuDelayPct: 0,
};

/** What the streams worker would do with the bytes: decode, then validate at the sample's own time. */
function rejectionCode(value: Buffer): string | undefined {
  try {
    validateSample(decodeSample(value), TS);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof SampleError, `expected SampleError, got ${String(err)}`);
    return err.code;
  }
}

test('the template itself is a valid sample (so each variant fails because of its defect)', () => {
  assert.equal(rejectionCode(encodeVmSample(template)), undefined);
});

test('each of the 5 variants fails decode+validate with exactly its expectedCode', () => {
  const seen = new Set<string>();
  for (let n = 0; n < 5; n++) {
    const m = malformedVariant(n, template);
    assert.equal(rejectionCode(m.value), m.expectedCode, `variant ${n}`);
    seen.add(m.expectedCode);
  }
  assert.deepEqual([...seen].sort(), ['SAMPLE_BAD_MAGIC', 'SAMPLE_INVALID_FIELD', 'SAMPLE_UNDECODABLE', 'SAMPLE_UNKNOWN_SCHEMA']);
});

test('variants rotate by n modulo 5', () => {
  for (let n = 0; n < 5; n++) {
    const a = malformedVariant(n, template);
    const b = malformedVariant(n + 5, template);
    assert.equal(b.expectedCode, a.expectedCode);
    assert.deepEqual(b.value, a.value);
  }
});

test('the invalid-field variants name the field they broke', () => {
  const fieldOf = (n: number) => {
    try {
      validateSample(decodeSample(malformedVariant(n, template).value), TS);
    } catch (err) {
      return (err as SampleError).field;
    }
    return undefined;
  };
  assert.equal(fieldOf(3), 'cpuUsedCores');
  assert.equal(fieldOf(4), 'memUsedBytes');
});
