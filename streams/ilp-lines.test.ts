import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadConfig, NovaError } from '../core/index.ts';
import type { HostSample, Sample, VmSample } from '../schemas/index.ts';
import { escapeIlpName, ilpDouble, ilpLong, mergeChunks, SampleLineEncoder, type IlpChunk } from './ilp-lines.ts';
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

/**
 * Splits one ILP line the way QuestDB's parser reads it: unescaped space separates table+tags
 * / fields / timestamp, unescaped comma separates pairs, an unescaped '=' a name from its
 * value (a second one is an error), and a backslash takes the next character literally.
 */
function parseLine(line: string): { table: string; tags: Record<string, string>; fields: Record<string, string>; ts: string } {
  assert.ok(line.endsWith('\n'), 'a line ends in a newline');
  const sections: string[][][] = [[[]]];
  let cur = '';
  for (let i = 0; i < line.length - 1; i++) {
    const ch = line[i]!;
    const section = sections.at(-1)!;
    const pair = section.at(-1)!;
    if (ch === '\\') {
      cur += line[++i];
    } else if (ch === ' ') {
      pair.push(cur);
      cur = '';
      sections.push([[]]);
    } else if (ch === ',') {
      pair.push(cur);
      cur = '';
      section.push([]);
    } else if (ch === '=' && !(sections.length === 1 && section.length === 1)) {
      assert.equal(pair.length, 0, `a second unescaped '=' in one pair: ${JSON.stringify(line)}`);
      pair.push(cur);
      cur = '';
    } else {
      assert.notEqual(ch, '\n', 'no bare newline inside a line');
      cur += ch;
    }
  }
  sections.at(-1)!.at(-1)!.push(cur);
  assert.equal(sections.length, 3, `three sections: ${JSON.stringify(line)}`);
  const [head, fieldPairs, [[ts]]] = sections as [string[][], string[][], [[string]]];
  const [[table], ...tagPairs] = head as [[string], ...string[][]];
  const obj = (pairs: string[][]) => Object.fromEntries(pairs.map((p) => { assert.equal(p.length, 2, JSON.stringify(p)); return p as [string, string]; }));
  return { table, tags: obj(tagPairs), fields: obj(fieldPairs), ts: ts! };
}

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

test('doubles: shortest round-trip text, exponent forms as JS writes them, -0 keeps its sign', () => {
  assert.equal(ilpDouble(0.1), '0.1');
  assert.equal(ilpDouble(0.1 + 0.2), '0.30000000000000004');
  assert.equal(ilpDouble(2), '2');
  assert.equal(ilpDouble(1e21), '1e+21');
  assert.equal(ilpDouble(5e-324), '5e-324');
  assert.equal(ilpDouble(Number.MAX_VALUE), '1.7976931348623157e+308');
  assert.equal(ilpDouble(-0), '-0');
  assert.equal(ilpDouble(0), '0');
  fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => Object.is(Number(ilpDouble(v)), v)), { numRuns: 2000 });
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

test('a VM and a host line, exactly', () => {
  const enc = new SampleLineEncoder('p_vm_samples', 'p_host_samples', 1 << 20);
  assert.equal(enc.vmLine(vm({ hostId: 'rack 1,h=2', vmId: 'vm\\7' })),
    `p_vm_samples,host_id=rack\\ 1\\,h\\=2,vm_id=vm\\\\7 cpu_used_cores=0.25,vcpus=2,mem_used_bytes=1024i,mem_total_bytes=4096i,disk_read_bps=1.5,disk_write_bps=0,net_rx_bps=1000000000,net_tx_bps=3,vcpu_delay_pct=0.1 ${TS}\n`);
  assert.equal(enc.hostLine(host()),
    `p_host_samples,host_id=h1 cpu_used_cores=3.5,cpu_capacity_cores=64,mem_used_bytes=1099511627776i,mem_total_bytes=2199023255552i,disk_read_bps=0,disk_write_bps=7,net_rx_bps=0.5,net_tx_bps=0,cpu_steal_pct=100 ${TS}\n`);
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
    const parsed = parseLine(line);
    assert.equal(parsed.table, table);
    const cols = declared(ddl);
    assert.deepEqual(Object.keys(parsed.tags).sort(), cols.filter(([, type]) => type === 'SYMBOL').map(([n]) => n).sort());
    assert.deepEqual(Object.keys(parsed.fields).sort(), cols.filter(([, type]) => type !== 'SYMBOL').map(([n]) => n).sort());
    for (const [name, type] of cols) {
      if (type === 'LONG') assert.match(parsed.fields[name]!, /^-?\d+i$/, name);
      if (type === 'DOUBLE') assert.match(parsed.fields[name]!, /^[-0-9.e+]+$/, name);
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
    const p = parseLine(enc.vmLine(s));
    assert.equal(p.table, 't vm,x');
    assert.deepEqual(p.tags, { host_id: s.hostId, vm_id: s.vmId });
    assert.ok(Object.is(Number(p.fields.cpu_used_cores), s.cpuUsedCores));
    assert.ok(Object.is(Number(p.fields.vcpu_delay_pct), s.vcpuDelayPct));
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
    const lines = c.body.toString('utf8').split(/(?<!\\)\n/).filter(Boolean);
    assert.equal(lines.length, c.rows);
    assert.ok(lines.every((l) => l.startsWith(`${c.table},`)), 'one table per chunk');
  }
  const vmBody = chunks.filter((c) => c.table === 'vm_samples').map((c) => c.body.toString('utf8')).join('');
  const hostBody = chunks.filter((c) => c.table === 'host_samples').map((c) => c.body.toString('utf8')).join('');
  assert.equal(vmBody, samples.filter((s) => s.kind === 'vm').map((s) => enc.vmLine(s.sample as VmSample)).join(''));
  assert.equal(hostBody, samples.filter((s) => s.kind === 'host').map((s) => enc.hostLine(s.sample as HostSample)).join(''));
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
    const merged = mergeChunks(parts, maxBytes);
    const text = (table: string, chunks: readonly IlpChunk[]) => chunks.filter((c) => c.table === table).map((c) => c.body.toString('utf8')).join('');
    for (const table of ['vm_samples', 'host_samples']) assert.equal(text(table, merged), text(table, parts), `${table} rows in order at ${maxBytes}`);
    assert.equal(merged.reduce((n, c) => n + c.rows, 0), batches.flat().length);
    for (const c of merged) {
      assert.ok(c.body.length <= maxBytes, `${c.body.length} <= ${maxBytes}`);
      assert.equal(c.body.toString('utf8').split('\n').filter(Boolean).length, c.rows);
    }
    // Fewer requests than the parts whenever two of a table's parts fit together.
    if (maxBytes === 1 << 20) assert.deepEqual(merged.map((c) => c.table), ['vm_samples', 'host_samples']);
    assert.ok(merged.length <= parts.length);
  }
  assert.deepEqual(mergeChunks([], 1_000), []);
});
