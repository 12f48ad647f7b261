import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadConfig, NovaError } from '../core/index.ts';
import type { HostSample, Sample, VmSample } from '../schemas/index.ts';
import { ChunkMemory, escapeIlpName, ilpLong, mergeChunks, SampleLineEncoder, type IlpChunk } from './ilp-lines.ts';
import { parseIlp } from '../test/support/ilp-parse.ts';
import { sampleTableDdl } from './tables.ts';

const TS = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const vm = (over: Partial<VmSample> = {}): VmSample => ({
  ts: TS, hostId: 'h1', vmId: 'v1', cpuUsedCores: 0.25, vcpus: 2, memUsedBytes: 1024, memTotalBytes: 4096,
  diskReadBps: 1.5, diskWriteBps: 0, netRxBps: 1e9, netTxBps: 3, vcpuDelayPct: 0.1, ...over,
});
const host = (over: Partial<HostSample> = {}): HostSample => ({
  ts: TS, hostId: 'h1', cpuUsedCores: 3.5, cpuCapacityCores: 64, memUsedBytes: 2 ** 40, memTotalBytes: 2 ** 41,
  diskReadBps: 0, diskWriteBps: 7, netRxBps: 0.5, netTxBps: 0, cpuStealPct: 100, ...over,
});

test('symbol values and table names: ILP separators and escapes are backslash-escaped, everything else is left alone', () => {
  const cases: [string, string][] = [
    ['vm-01.example_A', 'vm-01.example_A'],
    ['a b', 'a\\ b'],
    ['a,b', 'a\\,b'],
    ['k=v', 'k\\=v'],
    ['back\\slash', 'back\\\\slash'],
    ['line\nbreak', 'line\\\nbreak'],
    ['cr\rx', 'cr\\\rx'],
    ['\\ ,=', '\\\\\\ \\,\\='],
    ['trailing\\', 'trailing\\\\'],
    ['ünïcødé-虚拟机-🖥', 'ünïcødé-虚拟机-🖥'],
    ['tab\there"quote\'', 'tab\there"quote\''],
    ['', ''],
  ];
  for (const [raw, escaped] of cases) assert.equal(escapeIlpName(raw), escaped, JSON.stringify(raw));
});

test('doubles: binary (`name==`, type 16, 8 bytes little-endian), exact for every value, -0 and non-finite ones included', () => {
  const enc = new SampleLineEncoder('vm_samples', 'host_samples', 1 << 20);
  const row = enc.vmLine(vm({ cpuUsedCores: 0.1 + 0.2 }));
  const at = row.indexOf(' cpu_used_cores==') + ' cpu_used_cores=='.length;
  assert.equal(row[at], 16, 'the DOUBLE type byte');
  assert.equal(row.readDoubleLE(at + 1), 0.30000000000000004);
  for (const v of [0.1, 2, 1e21, 5e-324, Number.MAX_VALUE, -0, 0, NaN, Infinity]) {
    assert.ok(Object.is(parseIlp(enc.vmLine(vm({ diskReadBps: v })))[0]!.fields.disk_read_bps, v), String(v));
  }
  fc.assert(fc.property(fc.double(), (v) => Object.is(parseIlp(enc.hostLine(host({ netTxBps: v })))[0]!.fields.net_tx_bps, v)), { numRuns: 2000 });
});

test('longs and timestamps: the exact decimal digits of any integer, across the 10^8 split the encoder uses', () => {
  const enc = new SampleLineEncoder('vm_samples', 'host_samples', 1 << 20);
  const edges = [0, 1, 9, 10, 99_999_999, 100_000_000, 100_000_001, 1_000_000_000_000, 2 ** 53 - 1, 1_767_323_045_678, 2 ** 31, 2 ** 32 + 7];
  for (const v of edges) {
    const r = parseIlp(enc.vmLine(vm({ memUsedBytes: v, ts: Math.max(1, v) })))[0]!;
    assert.equal(r.fields.mem_used_bytes, `${v}i`);
    assert.equal(r.ts, String(Math.max(1, v)));
  }
  assert.equal(parseIlp(enc.vmLine(vm({ memUsedBytes: -42 })))[0]!.fields.mem_used_bytes, '-42i');
  assert.equal(parseIlp(enc.vmLine(vm({ memUsedBytes: 2 ** 62 })))[0]!.fields.mem_used_bytes, '4611686018427387904i', 'past 2^53: the integer the double holds');
  fc.assert(fc.property(fc.maxSafeInteger(), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (v, ts) => {
    const r = parseIlp(enc.vmLine(vm({ memTotalBytes: v, ts })))[0]!;
    return r.fields.mem_total_bytes === `${v}i` && r.ts === String(ts);
  }), { numRuns: 3000 });
});

test('longs: integers get the i suffix; fractions and values outside LONG are refused with a non-retriable error', () => {
  assert.equal(ilpLong(0, 'x'), '0i');
  assert.equal(ilpLong(2 ** 50, 'x'), '1125899906842624i');
  assert.equal(ilpLong(-42, 'x'), '-42i');
  assert.equal(ilpLong(2 ** 62, 'x'), '4611686018427387904i');
  for (const bad of [1.5, NaN, Infinity, 2 ** 63, -(2 ** 63), 1e300]) {
    assert.throws(() => ilpLong(bad, 'memUsedBytes'), (err: unknown) => err instanceof NovaError && err.code === 'STORE_SAMPLE_INVALID' && !err.retriable && /memUsedBytes/.test(err.message), String(bad));
  }
});

test('a VM and a host row, exactly (text where ILP is text, each DOUBLE as == type 16 and its 8 bytes)', () => {
  const enc = new SampleLineEncoder('p_vm_samples', 'p_host_samples', 1 << 20);
  // The expected bytes, built here from the spec: text, with every DOUBLE spelt as its binary form.
  const d = (v: number) => {
    const b = Buffer.alloc(9);
    b[0] = 16;
    b.writeDoubleLE(v, 1);
    return `=${b.toString('latin1')}`;
  };
  const bytes = (text: string) => Buffer.from(text, 'latin1');
  assert.deepEqual(enc.vmLine(vm({ hostId: 'rack 1,h=2', vmId: 'vm\\7' })),
    bytes(`p_vm_samples,host_id=rack\\ 1\\,h\\=2,vm_id=vm\\\\7 cpu_used_cores=${d(0.25)},vcpus=${d(2)},mem_used_bytes=1024i,mem_total_bytes=4096i,disk_read_bps=${d(1.5)},disk_write_bps=${d(0)},net_rx_bps=${d(1e9)},net_tx_bps=${d(3)},vcpu_delay_pct=${d(0.1)} ${TS}\n`));
  assert.deepEqual(enc.hostLine(host()),
    bytes(`p_host_samples,host_id=h1 cpu_used_cores=${d(3.5)},cpu_capacity_cores=${d(64)},mem_used_bytes=1099511627776i,mem_total_bytes=2199023255552i,disk_read_bps=${d(0)},disk_write_bps=${d(7)},net_rx_bps=${d(0.5)},net_tx_bps=${d(0)},cpu_steal_pct=${d(100)} ${TS}\n`));
  assert.throws(() => enc.vmLine(vm({ ts: 1.5 })), { code: 'STORE_SAMPLE_INVALID' });
});

test('the lines carry exactly the columns the DDL declares, symbols as tags and LONGs with the i suffix', () => {
  const config = loadConfig({}, { NOVACRON_TABLE_PREFIX: 'x_' });
  const [hostDdl, vmDdl] = sampleTableDdl(config) as [string, string];
  const declared = (ddl: string) => {
    const body = ddl.slice(ddl.indexOf('(') + 1, ddl.indexOf(') TIMESTAMP('));
    return body.split(',').map((c) => c.trim().split(/\s+/) as [string, string]).filter(([name]) => name !== 'ts');
  };
  const enc = new SampleLineEncoder('x_vm_samples', 'x_host_samples', 1 << 20);
  for (const [ddl, line, table] of [[vmDdl, enc.vmLine(vm()), 'x_vm_samples'], [hostDdl, enc.hostLine(host()), 'x_host_samples']] as const) {
    const parsed = parseIlp(line)[0]!;
    assert.equal(parsed.table, table);
    const cols = declared(ddl);
    assert.deepEqual(Object.keys(parsed.tags).sort(), cols.filter(([, type]) => type === 'SYMBOL').map(([n]) => n).sort());
    assert.deepEqual(Object.keys(parsed.fields).sort(), cols.filter(([, type]) => type !== 'SYMBOL').map(([n]) => n).sort());
    for (const [name, type] of cols) {
      if (type === 'LONG') assert.match(String(parsed.fields[name]), /^-?\d+i$/, name);
      if (type === 'DOUBLE') assert.equal(typeof parsed.fields[name], 'number', `${name} is a binary double`);
    }
  }
});

// Ids drawn mostly from the characters that need care, plus any Unicode scalar value
// (no lone surrogates: UTF-8 cannot carry them, so no store could keep them).
const trickyId = fc.string({
  unit: fc.oneof(fc.constantFrom(' ', ',', '=', '\\', '\n', '\r', '"', "'", 'é', '虚', '🖥'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })),
  minLength: 1, maxLength: 24,
});
const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const anyLong = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const vmArb = fc.record({ ts: fc.integer({ min: 1, max: 2 ** 45 }), hostId: trickyId, vmId: trickyId, cpuUsedCores: anyDouble, vcpus: anyDouble, memUsedBytes: anyLong, memTotalBytes: anyLong, diskReadBps: anyDouble, diskWriteBps: anyDouble, netRxBps: anyDouble, netTxBps: anyDouble, vcpuDelayPct: anyDouble });

test('property: a parser with QuestDB\'s escaping rules reads back every id and value of any VM line', () => {
  const enc = new SampleLineEncoder('t vm,x', 'h', 1 << 20);
  fc.assert(fc.property(vmArb, (s) => {
    const rows = parseIlp(enc.vmLine(s));
    assert.equal(rows.length, 1);
    const p = rows[0]!;
    assert.equal(p.table, 't vm,x');
    assert.deepEqual(p.tags, { host_id: s.hostId, vm_id: s.vmId });
    assert.ok(Object.is(p.fields.cpu_used_cores, s.cpuUsedCores));
    assert.ok(Object.is(p.fields.vcpu_delay_pct, s.vcpuDelayPct));
    assert.equal(p.fields.mem_used_bytes, `${s.memUsedBytes}i`);
    assert.equal(Number(p.ts), s.ts);
  }), { numRuns: 1000 });
});

test('chunks: one table each, at most maxBytes of UTF-8, every line once and in order', () => {
  const maxBytes = 2_000;
  const samples: Sample[] = [];
  for (let i = 0; i < 300; i++) {
    samples.push({ kind: 'vm', sample: vm({ ts: TS + i, vmId: i % 3 === 0 ? `虚拟机-${i}-🖥🖥🖥` : `vm-${i}` }) });
    if (i % 4 === 0) samples.push({ kind: 'host', sample: host({ ts: TS + i, hostId: `höst ${i}` }) });
  }
  const enc = new SampleLineEncoder('vm_samples', 'host_samples', maxBytes);
  const chunks = enc.encode(samples);
  assert.ok(chunks.length > 10, `${chunks.length} chunks`);
  for (const c of chunks) {
    assert.ok(c.body.length <= maxBytes, `${c.body.length} <= ${maxBytes}`);
    const rows = parseIlp(c.body);
    assert.equal(rows.length, c.rows);
    assert.ok(rows.every((r) => r.table === c.table), 'one table per chunk');
  }
  const body = (table: string) => Buffer.concat(chunks.filter((c) => c.table === table).map((c) => c.body));
  assert.deepEqual(body('vm_samples'), Buffer.concat(samples.filter((s) => s.kind === 'vm').map((s) => enc.vmLine(s.sample as VmSample))));
  assert.deepEqual(body('host_samples'), Buffer.concat(samples.filter((s) => s.kind === 'host').map((s) => enc.hostLine(s.sample as HostSample))));
  // Nothing to split: one chunk per table; none at all for no samples.
  assert.deepEqual(new SampleLineEncoder('a', 'b', 8 << 20).encode(samples).map((c) => c.table), ['a', 'b']);
  assert.deepEqual(enc.encode([]), []);
});

test('mergeChunks: the batches of several callers as few requests per table as fit in maxBytes, every row once and in order', () => {
  const enc = new SampleLineEncoder('vm_samples', 'host_samples', 1_000);
  const batch = (from: number, n: number): Sample[] => Array.from({ length: n }, (_, i): Sample[] => [
    { kind: 'vm', sample: vm({ ts: TS + from + i, vmId: `vm-${from + i}` }) },
    { kind: 'host', sample: host({ ts: TS + from + i, hostId: `h-${from + i}` }) },
  ]).flat();
  const batches = [batch(0, 3), batch(100, 30), batch(200, 2)];
  const parts = batches.flatMap((b) => enc.encode(b));
  for (const maxBytes of [1_000, 4_000, 1 << 20]) {
    const merged = mergeChunks(parts, maxBytes, new ChunkMemory());
    const bytes = (table: string, chunks: readonly IlpChunk[]) => Buffer.concat(chunks.filter((c) => c.table === table).map((c) => c.body));
    for (const table of ['vm_samples', 'host_samples']) assert.deepEqual(bytes(table, merged), bytes(table, parts), `${table} rows in order at ${maxBytes}`);
    assert.equal(merged.reduce((n, c) => n + c.rows, 0), batches.flat().length);
    for (const c of merged) {
      assert.ok(c.body.length <= maxBytes, `${c.body.length} <= ${maxBytes}`);
      assert.equal(parseIlp(c.body).length, c.rows);
    }
    // Fewer requests than the parts whenever two of a table's parts fit together.
    if (maxBytes === 1 << 20) assert.deepEqual(merged.map((c) => c.table), ['vm_samples', 'host_samples']);
    assert.ok(merged.length <= parts.length);
  }
  assert.deepEqual(mergeChunks([], 1_000, new ChunkMemory()), []);
});

test('ChunkMemory: a body given back is handed out again; one given twice, or not from here, is not', () => {
  const memory = new ChunkMemory(1 << 20);
  const a = memory.take(100_000);
  assert.equal(a.length, 100_000);
  assert.equal(a.buffer.byteLength, 128 << 10, 'a power-of-two block');
  memory.give(a);
  memory.give(a);
  memory.give(Buffer.alloc(128 << 10));
  const b = memory.take(70_000);
  const c = memory.take(70_000);
  assert.equal(b.buffer, a.buffer, 'the block was reused');
  assert.notEqual(c.buffer, a.buffer, 'a second give of the same body did not put it back twice');
  // Beyond maxPooledBytes blocks are left to the garbage collector.
  const big = [memory.take(600_000), memory.take(600_000)];
  for (const x of big) memory.give(x);
  assert.equal(memory.take(600_000).buffer, big[0]!.buffer);
  assert.notEqual(memory.take(600_000).buffer, big[1]!.buffer);
});

test('encode and merge write their bodies into the encoder\'s memory; merged bodies never share a caller\'s block', () => {
  const memory = new ChunkMemory();
  const enc = new SampleLineEncoder('vm_samples', 'host_samples', 1 << 20, memory);
  const one = enc.encode([{ kind: 'vm', sample: vm() }]);
  const merged = mergeChunks(one, 1 << 20, memory);
  assert.deepEqual(merged[0]!.body, one[0]!.body);
  assert.notEqual(merged[0]!.body.buffer, one[0]!.body.buffer);
  memory.give(one[0]!.body);
  assert.equal(enc.encode([{ kind: 'vm', sample: vm({ vmId: 'v2' }) }])[0]!.body.buffer, one[0]!.body.buffer);
});
