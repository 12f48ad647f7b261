import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import {
  decodeSample, decodeSamples, decodeMessage, encodeHostSample, encodeHostTick, encodeSample, encodeVmSample, avroSchema, SampleError, LOCAL_SCHEMA_IDS,
  type HostSample, type SampleErrorCode, type SchemaRegistry, type VmSample,
} from './index.ts';

const TS = Date.UTC(2024, 5, 1, 12, 0, 0);

const host: HostSample = {
  ts: TS, hostId: 'kvm-07', cpuUsedCores: 13.375, cpuCapacityCores: 48, memUsedBytes: 97_000_000_123, memTotalBytes: 206_158_430_208,
  diskReadBps: 1234.5, diskWriteBps: 0.25, netRxBps: 9_876_543.125, netTxBps: 42, cpuStealPct: 3.5,
};
const vm: VmSample = {
  ts: TS + 1, hostId: 'kvm-07', vmId: 'web-frontend-3', cpuUsedCores: 1.0625, vcpus: 4, memUsedBytes: 6_442_450_944, memTotalBytes: 8_589_934_592,
  diskReadBps: 10, diskWriteBps: 20.5, netRxBps: 30, netTxBps: 40.75, vcpuDelayPct: 12.5,
};

/** The code (and class) of the SampleError `fn` throws. */
function codeOf(fn: () => unknown): SampleErrorCode {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SampleError, `expected a SampleError, got ${String(err)}`);
    assert.equal(err.retriable, false);
    return err.code;
  }
  assert.fail('expected a SampleError, nothing was thrown');
}

/** Parses an .avsc file ourselves (not through codec.ts) for independent cross-checks. */
function avsc(file: string): { fields: { name: string; type: unknown }[] } {
  return JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8'));
}

describe('encode/decode', () => {
  test('a host sample survives the round trip with every field equal', () => {
    const decoded = decodeSample(encodeHostSample(host));
    assert.equal(decoded.kind, 'host');
    // avsc returns record-class instances; compare the own enumerable fields.
    assert.deepEqual({ ...decoded.sample }, host);
  });

  test('a VM sample survives the round trip with every field equal', () => {
    const decoded = decodeSample(encodeVmSample(vm));
    assert.equal(decoded.kind, 'vm');
    assert.deepEqual({ ...decoded.sample }, vm);
  });

  test('encodeSample({kind}) is the same bytes as the kind-specific encoders', () => {
    assert.deepEqual(encodeSample({ kind: 'host', sample: host }), encodeHostSample(host));
    assert.deepEqual(encodeSample({ kind: 'vm', sample: vm }), encodeVmSample(vm));
  });

  test('the header is magic byte 0 then the 4-byte big-endian schema id (1 host, 2 vm, 3 host tick)', () => {
    const h = encodeHostSample(host);
    const v = encodeVmSample(vm);
    assert.deepEqual([...h.subarray(0, 5)], [0, 0, 0, 0, 1]);
    assert.deepEqual([...v.subarray(0, 5)], [0, 0, 0, 0, 2]);
    assert.deepEqual([...encodeHostTick({ host, vms: [vm] }).subarray(0, 5)], [0, 0, 0, 0, 3]);
    assert.deepEqual(LOCAL_SCHEMA_IDS, { host: 1, vm: 2, tick: 3 });
  });

  test('the body after the header is plain Avro binary of the .avsc schema (registry-compatible framing)', () => {
    const hostType = avro.Type.forSchema(avsc('./host-sample.avsc') as avro.Schema);
    const vmType = avro.Type.forSchema(avsc('./vm-sample.avsc') as avro.Schema);
    assert.deepEqual({ ...hostType.fromBuffer(encodeHostSample(host).subarray(5)) }, host);
    assert.deepEqual({ ...vmType.fromBuffer(encodeVmSample(vm).subarray(5)) }, vm);
  });

  test('a custom SchemaRegistry puts its own ids on the wire and decodes them', () => {
    const ids = { host: 1001, vm: 0x01020304, tick: 1003 };
    const registry: SchemaRegistry = {
      idFor: (kind) => ids[kind],
      kindFor: (id) => (id === ids.host ? 'host' : id === ids.vm ? 'vm' : id === ids.tick ? 'tick' : undefined),
    };
    const h = encodeHostSample(host, registry);
    const v = encodeVmSample(vm, registry);
    assert.equal(h.readUInt32BE(1), 1001);
    assert.deepEqual([...v.subarray(0, 5)], [0, 1, 2, 3, 4]);
    assert.deepEqual({ ...decodeSample(h, registry).sample }, host);
    const dv = decodeSample(v, registry);
    assert.equal(dv.kind, 'vm');
    assert.deepEqual({ ...dv.sample }, vm);
    // The ids belong to their registry: the local one does not know them, and vice versa.
    assert.equal(codeOf(() => decodeSample(h)), 'SAMPLE_UNKNOWN_SCHEMA');
    assert.equal(codeOf(() => decodeSample(encodeHostSample(host), registry)), 'SAMPLE_UNKNOWN_SCHEMA');
    const t = encodeHostTick({ host, vms: [vm] }, registry);
    assert.equal(t.readUInt32BE(1), 1003);
    assert.equal(decodeSamples(t, registry).length, 2);
    assert.equal(codeOf(() => decodeSamples(t)), 'SAMPLE_UNKNOWN_SCHEMA');
  });
});

describe('host ticks (one message per host and instant)', () => {
  const vm2: VmSample = { ...vm, vmId: 'db-1', cpuUsedCores: 3.5 };

  test('a tick survives the round trip: host first, then its VMs in order, every field equal', () => {
    const samples = decodeSamples(encodeHostTick({ host, vms: [vm, vm2] }));
    assert.deepEqual(samples.map((s) => [s.kind, { ...s.sample }]), [['host', host], ['vm', vm], ['vm', vm2]]);
  });

  test('a tick without a host sample, or without VMs, is a valid tick', () => {
    assert.deepEqual(decodeSamples(encodeHostTick({ host: null, vms: [vm] })).map((s) => s.kind), ['vm']);
    assert.deepEqual(decodeSamples(encodeHostTick({ host, vms: [] })).map((s) => s.kind), ['host']);
    const m = decodeMessage(encodeHostTick({ host: null, vms: [] }));
    assert.equal(m.kind, 'tick');
    assert.deepEqual(m.kind === 'tick' && { host: m.tick.host, vms: [...m.tick.vms] }, { host: null, vms: [] });
  });

  test('decodeSamples of a single-sample message is that sample; decodeSample refuses a tick', () => {
    assert.deepEqual(decodeSamples(encodeVmSample(vm)).map((s) => ({ ...s.sample })), [vm]);
    assert.equal(codeOf(() => decodeSample(encodeHostTick({ host, vms: [vm] }))), 'SAMPLE_UNKNOWN_SCHEMA');
  });

  test('a tick is far smaller than its samples sent one by one (shared framing and key)', () => {
    const vms = Array.from({ length: 8 }, (_, i) => ({ ...vm, vmId: `vm-${i}` }));
    const tick = encodeHostTick({ host, vms }).length;
    const singles = encodeHostSample(host).length + vms.reduce((a, v) => a + encodeVmSample(v).length, 0);
    assert.ok(tick < singles, `${tick} >= ${singles}`);
  });

  test('the tick body is plain Avro binary of host-tick.avsc with the two sample records inlined (registry-compatible)', () => {
    // What a registry would hold: the served schema is self-contained.
    const type = avro.Type.forSchema(avroSchema('tick') as avro.Schema);
    const back = type.fromBuffer(encodeHostTick({ host, vms: [vm] }).subarray(5)) as { host: HostSample; vms: VmSample[] };
    assert.deepEqual({ ...back.host }, host);
    assert.deepEqual({ ...back.vms[0] }, vm);
  });

  test('a truncated tick, trailing bytes, or a VM record cut short are SAMPLE_UNDECODABLE', () => {
    const good = encodeHostTick({ host, vms: [vm, vm2] });
    for (const cut of [6, 20, good.length - 30, good.length - 1]) assert.equal(codeOf(() => decodeSamples(good.subarray(0, cut))), 'SAMPLE_UNDECODABLE', `cut at ${cut}`);
    assert.equal(codeOf(() => decodeSamples(Buffer.concat([good, Buffer.from([1])]))), 'SAMPLE_UNDECODABLE');
    // A single VM sample's body under the tick's id: the bytes do not parse as a tick.
    const relabelled = Buffer.from(encodeVmSample(vm));
    relabelled.writeUInt32BE(LOCAL_SCHEMA_IDS.tick, 1);
    assert.equal(codeOf(() => decodeSamples(relabelled)), 'SAMPLE_UNDECODABLE');
  });
});

describe('decode failures carry the right SampleError code', () => {
  const good = encodeVmSample(vm);
  const withId = (id: number): Buffer => {
    const b = Buffer.from(good);
    b.writeUInt32BE(id, 1);
    return b;
  };

  test('null, undefined and an empty buffer are SAMPLE_EMPTY', () => {
    assert.equal(codeOf(() => decodeSample(null)), 'SAMPLE_EMPTY');
    assert.equal(codeOf(() => decodeSample(undefined)), 'SAMPLE_EMPTY');
    assert.equal(codeOf(() => decodeSample(Buffer.alloc(0))), 'SAMPLE_EMPTY');
  });

  test('a wrong magic byte or fewer than 5 bytes is SAMPLE_BAD_MAGIC', () => {
    const wrongMagic = Buffer.from(good);
    wrongMagic[0] = 1;
    assert.equal(codeOf(() => decodeSample(wrongMagic)), 'SAMPLE_BAD_MAGIC');
    assert.equal(codeOf(() => decodeSample(Buffer.from('{"vmId":"a","cpu":0.5}'))), 'SAMPLE_BAD_MAGIC');
    assert.equal(codeOf(() => decodeSample(Buffer.from([0]))), 'SAMPLE_BAD_MAGIC');
    assert.equal(codeOf(() => decodeSample(Buffer.from([0, 0, 0, 2]))), 'SAMPLE_BAD_MAGIC');
  });

  test('an unregistered schema id is SAMPLE_UNKNOWN_SCHEMA', () => {
    for (const id of [0, 4, 999, 0xffffffff]) assert.equal(codeOf(() => decodeSample(withId(id))), 'SAMPLE_UNKNOWN_SCHEMA', `id ${id}`);
  });

  test('a truncated body is SAMPLE_UNDECODABLE', () => {
    assert.equal(codeOf(() => decodeSample(good.subarray(0, good.length - 1))), 'SAMPLE_UNDECODABLE');
    assert.equal(codeOf(() => decodeSample(good.subarray(0, 12))), 'SAMPLE_UNDECODABLE');
    assert.equal(codeOf(() => decodeSample(good.subarray(0, 5))), 'SAMPLE_UNDECODABLE', 'header only');
  });

  test('trailing bytes after a complete body are SAMPLE_UNDECODABLE', () => {
    assert.equal(codeOf(() => decodeSample(Buffer.concat([good, Buffer.from([0])]))), 'SAMPLE_UNDECODABLE');
    assert.equal(codeOf(() => decodeSample(Buffer.concat([encodeHostSample(host), Buffer.from('junk')]))), 'SAMPLE_UNDECODABLE');
  });
});

describe('the .avsc files mirror schemas/types.ts', () => {
  // Typed literals: tsc refuses a missing or extra key, so Object.keys is the TS field set.
  const avroKind = (type: unknown): string => (typeof type === 'string' ? type : (type as { type: string }).type);
  const jsType: Record<string, string> = { string: 'string', double: 'number', long: 'number', int: 'number' };

  for (const [file, sample, kind] of [['./host-sample.avsc', host, 'host'], ['./vm-sample.avsc', vm, 'vm']] as const) {
    test(`${file} has exactly the fields of the ${kind} TS type, with matching JS types`, () => {
      const fields = avsc(file).fields;
      assert.deepEqual(fields.map((f) => f.name).sort(), Object.keys(sample).sort());
      for (const f of fields) {
        assert.equal(jsType[avroKind(f.type)], typeof (sample as unknown as Record<string, unknown>)[f.name], `${f.name}: ${avroKind(f.type)}`);
      }
      const served = avroSchema(kind) as { fields: { name: string }[] };
      assert.deepEqual(served.fields.map((f) => f.name), fields.map((f) => f.name));
    });
  }
});
