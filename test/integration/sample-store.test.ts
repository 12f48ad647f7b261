import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { NovaError, questdbTable, type Config } from '../../core/index.ts';
import type { HostSample, Sample, VmSample } from '../../schemas/index.ts';
import { classifyStoreError, dropSampleTables, ensureSampleTables, QuestDbSampleStore, SAMPLE_TABLES } from '../../streams/index.ts';
import { isolatedConfig, questdbFor } from './harness.ts';

// One day's partition for every row written here (spread-out timestamps would create a partition each).
const DAY = Date.UTC(2026, 0, 5);

const VM_COLUMNS = ['host_id', 'vm_id', 'cpu_used_cores', 'vcpus', 'mem_used_bytes', 'mem_total_bytes', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps', 'vcpu_delay_pct'] as const;
const HOST_COLUMNS = ['host_id', 'cpu_used_cores', 'cpu_capacity_cores', 'mem_used_bytes', 'mem_total_bytes', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps', 'cpu_steal_pct'] as const;

/** A stored row as the sample it came from: ts in ms, LONGs as exact integers, doubles as read. */
type Row = Record<string, string | number | bigint>;

/** Rows of a table over PG wire, ts from the stored microseconds, LONGs compared as BigInt (pg returns int8 as text). */
async function readRows(config: Config, kind: 'vm' | 'host', from: number, to: number): Promise<Row[]> {
  const questdb = questdbFor(config);
  try {
    const table = questdbTable(config, SAMPLE_TABLES[kind]);
    await questdb.waitForWalApplied(table);
    const cols = kind === 'vm' ? VM_COLUMNS : HOST_COLUMNS;
    const rows = await questdb.query(`select cast(ts as long) ts_us, ${cols.join(', ')} from ${table} where ts >= $1 and ts < $2 order by ts`, [new Date(from).toISOString(), new Date(to).toISOString()]);
    return rows.map((r) => {
      const out: Row = { ts: Number(BigInt(r.ts_us as string) / 1000n) };
      for (const c of cols) out[c] = c.startsWith('mem_') ? BigInt(r[c] as string) : (r[c] as string | number);
      return out;
    });
  } finally {
    await questdb.close();
  }
}

/** The row a sample must become. */
function expectedRow(s: Sample): Row {
  const v = s.sample;
  const common = { ts: v.ts, host_id: v.hostId, cpu_used_cores: v.cpuUsedCores, mem_used_bytes: BigInt(v.memUsedBytes), mem_total_bytes: BigInt(v.memTotalBytes), disk_read_bps: v.diskReadBps, disk_write_bps: v.diskWriteBps, net_rx_bps: v.netRxBps, net_tx_bps: v.netTxBps };
  if (s.kind === 'vm') return { ...common, vm_id: s.sample.vmId, vcpus: s.sample.vcpus, vcpu_delay_pct: s.sample.vcpuDelayPct };
  return { ...common, cpu_capacity_cores: s.sample.cpuCapacityCores, cpu_steal_pct: s.sample.cpuStealPct };
}

/** deepEqual, but doubles must be the same bits (-0 is not 0). */
function assertSameRows(actual: Row[], expected: Row[]): void {
  assert.deepEqual(actual, expected);
  actual.forEach((row, i) => {
    for (const [k, v] of Object.entries(row)) assert.ok(Object.is(v, expected[i]![k]), `row ${i} ${k}: ${String(v)} vs ${String(expected[i]![k])}`);
  });
}

const TRICKY_IDS = ['vm with spaces', 'vm,comma', 'k=v', 'back\\slash', 'trailing\\', '\\ ,= mix', '虚拟机-🖥-ünïcødé', 'new\nline', 'cr\rreturn', 'quote"s\'', ' lead', 'x=\\,y z'];

function trickyBatch(): Sample[] {
  const extremes = [Number.MIN_VALUE, Number.MAX_VALUE, 0.1 + 0.2, 1 / 3, 1e21, 2.2250738585072014e-308, 123456789.12345679, -0, 0, 1e-7, 4096, 9007199254740993];
  const longs = [0, 1, Number.MAX_SAFE_INTEGER, 2 ** 62, 2 ** 63 - 2 ** 10, -1, -(2 ** 62), 2 ** 50];
  const samples: Sample[] = [];
  TRICKY_IDS.forEach((id, i) => {
    const d = (k: number) => extremes[(i + k) % extremes.length]!;
    const l = (k: number) => longs[(i + k) % longs.length]!;
    samples.push({ kind: 'vm', sample: { ts: DAY + i, hostId: TRICKY_IDS[(i + 5) % TRICKY_IDS.length]!, vmId: id, cpuUsedCores: d(0), vcpus: d(1), memUsedBytes: l(0), memTotalBytes: l(1), diskReadBps: d(2), diskWriteBps: d(3), netRxBps: d(4), netTxBps: d(5), vcpuDelayPct: d(6) } });
    samples.push({ kind: 'host', sample: { ts: DAY + i, hostId: id, cpuUsedCores: d(7), cpuCapacityCores: d(8), memUsedBytes: l(2), memTotalBytes: l(3), diskReadBps: d(9), diskWriteBps: d(10), netRxBps: d(11), netTxBps: d(0), cpuStealPct: d(1) } });
  });
  return samples;
}

describe('QuestDbSampleStore: ILP (binary doubles) over HTTP into the real QuestDB', () => {
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  let store: QuestDbSampleStore;

  before(async () => {
    await ensureSampleTables(config, questdb);
    store = new QuestDbSampleStore(config);
  });

  after(async () => {
    await store?.close();
    await dropSampleTables(config, questdb);
    await questdb.close();
  });

  it('tricky ids (spaces, commas, =, backslashes, newlines, unicode) and extreme values come back exactly, every column', async () => {
    const batch = trickyBatch();
    await store.write(batch);
    for (const kind of ['vm', 'host'] as const) {
      const expected = batch.filter((s) => s.kind === kind).map(expectedRow);
      assertSameRows(await readRows(config, kind, DAY, DAY + 1000), expected);
    }
  });

  it('a re-written batch leaves the row count unchanged (DEDUP UPSERT KEYS), and its values as they were', async () => {
    const batch = trickyBatch();
    await store.write(batch);
    await store.write(batch);
    for (const kind of ['vm', 'host'] as const) {
      const rows = await readRows(config, kind, DAY, DAY + 1000);
      assert.equal(rows.length, TRICKY_IDS.length);
      assertSameRows(rows, batch.filter((s) => s.kind === kind).map(expectedRow));
    }
  });

  it('property: whatever the ids and values, QuestDB stores exactly what was written', async () => {
    const id = fc.string({
      unit: fc.oneof(fc.constantFrom(' ', ',', '=', '\\', '\n', '\r', '"', 'é', '虚', '🖥'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })),
      minLength: 1, maxLength: 20,
    });
    const dbl = fc.double({ noNaN: true, noDefaultInfinity: true });
    const lng = fc.oneof(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(2 ** 62, -(2 ** 60), 2 ** 63 - 2 ** 10));
    const vm = fc.record({ hostId: id, vmId: id, cpuUsedCores: dbl, vcpus: dbl, memUsedBytes: lng, memTotalBytes: lng, diskReadBps: dbl, diskWriteBps: dbl, netRxBps: dbl, netTxBps: dbl, vcpuDelayPct: dbl });
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.uniqueArray(vm, { minLength: 1, maxLength: 8, selector: (v) => v.vmId }), async (vms) => {
      // Each run gets its own ms range: rows of earlier runs (and shrinking re-runs) never mix in.
      const from = DAY + 3_600_000 + run++ * 1000;
      const batch: Sample[] = vms.map((v, i) => ({ kind: 'vm', sample: { ...v, ts: from + i } satisfies VmSample }));
      await store.write(batch);
      assertSameRows(await readRows(config, 'vm', from, from + 1000), batch.map(expectedRow));
    }), { numRuns: 12 });
  });

  it('a batch bigger than maxRequestBytes goes as several requests, and every row lands exactly', async () => {
    const small = new QuestDbSampleStore(config, { maxRequestBytes: 4096 });
    try {
      const from = DAY + 7_200_000;
      const batch: Sample[] = [];
      for (let i = 0; i < 600; i++) {
        batch.push({ kind: 'vm', sample: { ts: from + i, hostId: `h-${i % 7}`, vmId: `vm 🖥 ${i % 50}`, cpuUsedCores: i / 7, vcpus: 8, memUsedBytes: i * 1_000_003, memTotalBytes: 2 ** 40, diskReadBps: i * 0.1, diskWriteBps: 0, netRxBps: 1e9 / (i + 1), netTxBps: i, vcpuDelayPct: (i % 100) / 3 } satisfies VmSample });
        if (i % 10 === 0) batch.push({ kind: 'host', sample: { ts: from + i, hostId: `h-${i % 7}`, cpuUsedCores: i / 11, cpuCapacityCores: 64, memUsedBytes: i, memTotalBytes: 2 ** 41, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, cpuStealPct: 1 / 3 } satisfies HostSample });
      }
      await small.write(batch);
      for (const kind of ['vm', 'host'] as const) {
        assertSameRows(await readRows(config, kind, from, from + 1000), batch.filter((s) => s.kind === kind).map(expectedRow));
      }
    } finally {
      await small.close();
    }
  });
});

describe('QuestDbSampleStore: failures', () => {
  it('a request QuestDB refuses is a non-retriable NovaError carrying its message, and none of its rows is stored', async () => {
    const config = isolatedConfig();
    const questdb = questdbFor(config);
    const table = questdbTable(config, SAMPLE_TABLES.vm);
    // A table whose cpu_used_cores cannot take a number: QuestDB answers 400 (cast error) on line 1.
    await questdb.query(`CREATE TABLE ${table} (ts TIMESTAMP, host_id SYMBOL, vm_id SYMBOL, cpu_used_cores BOOLEAN) TIMESTAMP(ts) PARTITION BY DAY WAL`);
    const store = new QuestDbSampleStore(config);
    try {
      const batch: Sample[] = [0, 1, 2].map((i) => ({ kind: 'vm', sample: { ts: DAY + i, hostId: 'h', vmId: `v${i}`, cpuUsedCores: 0.5, vcpus: 1, memUsedBytes: 1, memTotalBytes: 2, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0 } }));
      const err = await store.write(batch).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof NovaError, `a NovaError: ${String(err)}`);
      assert.equal(err.code, 'STORE_HTTP_400');
      assert.equal(err.retriable, false);
      assert.match(err.message, /cast error/);
      assert.match(err.message, new RegExp(table));
      assert.deepEqual(classifyStoreError(err), { code: 'STORE_HTTP_400', retriable: false, message: err.message });
      await questdb.waitForWalApplied(table);
      const [r] = await questdb.query<{ n: string }>(`select count() n from ${table}`);
      assert.equal(Number(r!.n), 0, 'the request was all or nothing');
    } finally {
      await store.close();
      await questdb.query(`DROP TABLE IF EXISTS ${table}`);
      await questdb.close();
    }
  });

  it('a sample table that an ILP write created before the setup is refused by ensureSampleTables, naming what differs; a proper one passes', async () => {
    const config = isolatedConfig();
    const questdb = questdbFor(config);
    const store = new QuestDbSampleStore(config);
    const host = questdbTable(config, SAMPLE_TABLES.host);
    try {
      // Before any table exists, a host row over ILP: QuestDB creates host_samples itself (designated column `timestamp`, no dedup keys).
      await store.write([{ kind: 'host', sample: { ts: DAY, hostId: 'h', cpuUsedCores: 1, cpuCapacityCores: 4, memUsedBytes: 1, memTotalBytes: 2, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, cpuStealPct: 0 } }]);
      await questdb.waitForWalApplied(host);
      const err = await ensureSampleTables(config, questdb).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof NovaError, `a NovaError: ${String(err)}`);
      assert.equal(err.code, 'STORE_TABLE_MISMATCH');
      assert.match(err.message, new RegExp(`${host} exists with another layout`));
      assert.match(err.message, /no column ts \(TIMESTAMP\)/);
      assert.match(err.message, /designated timestamp is timestamp, not ts/);
      assert.match(err.message, /dedup upsert keys are \(none\), not \(ts, host_id\)/);
      assert.match(err.message, new RegExp(`DROP TABLE ${host}`));
      // Dropped as the message says, the setup creates the table properly and checks it again without complaint.
      await questdb.query(`DROP TABLE ${host}`);
      await ensureSampleTables(config, questdb);
      await ensureSampleTables(config, questdb);
    } finally {
      await store.close();
      await dropSampleTables(config, questdb);
      await questdb.close();
    }
  });

  it('the real QuestDB says it takes ILP protocol version 2 (what the store writes): checkServer resolves', async () => {
    const store = new QuestDbSampleStore(isolatedConfig());
    await store.checkServer();
    await store.close();
  });

  it('QuestDB unreachable (a closed port): a retriable NovaError the worker retries', async () => {
    // A port that was just free: nothing listens on it.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const store = new QuestDbSampleStore(isolatedConfig({ QUESTDB_HTTP_PORT: String(port) }));
    const sample: VmSample = { ts: DAY, hostId: 'h', vmId: 'v', cpuUsedCores: 0.5, vcpus: 1, memUsedBytes: 1, memTotalBytes: 2, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0 };
    const err = await store.write([{ kind: 'vm', sample }]).then(() => undefined, (e: unknown) => e);
    await store.close();
    assert.ok(err instanceof NovaError, `a NovaError: ${String(err)}`);
    assert.equal(err.code, 'STORE_UNREACHABLE_ECONNREFUSED');
    assert.equal(err.retriable, true);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.equal(classifyStoreError(err).retriable, true);
  });
});
