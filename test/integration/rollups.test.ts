import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../../core/index.ts';
import type { HostSample, Sample, VmSample } from '../../schemas/index.ts';
import { dropSampleTables, ensureSampleTables, hasP95, QuestDbSampleStore, rollupView, waitForRollups, type RollupInterval } from '../../streams/index.ts';
import { eventually, isolatedConfig, questdbFor } from './harness.ts';

// Two hours of one-second samples: 60 values per minute bucket, 3600 per hour bucket, so the
// p95 (rank 57 of 60) differs from the max and from the mean by far more than the tolerance.
const START = Date.UTC(2025, 4, 6, 10, 0, 0);
const SECONDS = 2 * 3600;
const VMS = ['vm-a', 'vm-b'];
const HOSTS = ['host-a', 'host-b'];
// approx_percentile(x, 0.95, 2) is an HdrHistogram quantile with 2 significant digits.
const P95_TOLERANCE = 1e-2;

/** Nearest-rank percentile: the value at rank ceil(p·n) of the sorted values. */
function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(p * sorted.length) - 1]!;
}

interface Expected { avg: number; max: number; p95: number; n: number }

function expectedBuckets(rows: { key: string; ts: number; value: number }[], bucketMs: number): Map<string, Expected> {
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const id = `${r.key}|${Math.floor(r.ts / bucketMs) * bucketMs}`;
    (groups.get(id) ?? groups.set(id, []).get(id)!).push(r.value);
  }
  const out = new Map<string, Expected>();
  for (const [id, values] of groups) {
    out.set(id, { avg: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values), p95: nearestRank(values, 0.95), n: values.length });
  }
  return out;
}

describe('rollups: QuestDB materialized views over the raw sample tables', () => {
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  const random = seededRandom(42);
  const vms: VmSample[] = [];
  const hosts: HostSample[] = [];
  for (let s = 0; s < SECONDS; s++) {
    const ts = START + s * 1000;
    for (const vmId of VMS) {
      vms.push({ ts, hostId: 'host-a', vmId, cpuUsedCores: Math.round(random() * 8000) / 1000, vcpus: 8, memUsedBytes: 1e9 + Math.floor(random() * 7e9), memTotalBytes: 8e9, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0 });
    }
    for (const hostId of HOSTS) {
      hosts.push({ ts, hostId, cpuUsedCores: random() * 64, cpuCapacityCores: 64, memUsedBytes: 1e10 + Math.floor(random() * 2e11), memTotalBytes: 256e9, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, cpuStealPct: 0 });
    }
  }
  let store: QuestDbSampleStore;

  before(async () => {
    await ensureSampleTables(config, questdb);
    store = new QuestDbSampleStore(config);
    const all: Sample[] = [...vms.map((sample) => ({ kind: 'vm' as const, sample })), ...hosts.map((sample) => ({ kind: 'host' as const, sample }))];
    for (let i = 0; i < all.length; i += 5000) await store.write(all.slice(i, i + 5000));
    await waitForRollups(config, questdb, 60_000);
  });

  after(async () => {
    await store?.close();
    await dropSampleTables(config, questdb);
    const left = await questdb.query<{ n: string }>(`select count() n from tables() where table_name like '${config.questdb.tablePrefix}%'`);
    await questdb.close();
    assert.equal(Number(left[0]?.n ?? -1), 0, 'the test leaves no table or view behind');
  });

  const cases: { kind: 'vm' | 'host'; key: 'vm_id' | 'host_id'; interval: RollupInterval; bucketMs: number }[] = [
    { kind: 'vm', key: 'vm_id', interval: '1m', bucketMs: 60_000 },
    { kind: 'vm', key: 'vm_id', interval: '1h', bucketMs: 3_600_000 },
    { kind: 'host', key: 'host_id', interval: '1m', bucketMs: 60_000 },
    { kind: 'host', key: 'host_id', interval: '1h', bucketMs: 3_600_000 },
  ];

  for (const c of cases) {
    it(`${c.kind} ${c.interval}: avg and max (and p95 per host and hour) of cpu_used_cores and mem_used_bytes per ${c.key} and bucket`, async () => {
      const raw = c.kind === 'vm' ? vms.map((v) => ({ key: v.vmId, ts: v.ts, cpu: v.cpuUsedCores, mem: v.memUsedBytes })) : hosts.map((h) => ({ key: h.hostId, ts: h.ts, cpu: h.cpuUsedCores, mem: h.memUsedBytes }));
      const expected = {
        cpu: expectedBuckets(raw.map((r) => ({ key: r.key, ts: r.ts, value: r.cpu })), c.bucketMs),
        mem: expectedBuckets(raw.map((r) => ({ key: r.key, ts: r.ts, value: r.mem })), c.bucketMs),
      };
      const rows = await questdb.query<Record<string, number | string | Date>>(`select * from ${rollupView(config, c.kind, c.interval)} order by ts, ${c.key}`);
      assert.equal(rows.length, expected.cpu.size, 'one row per series and bucket');
      assert.equal(rows.length, 2 * SECONDS / (c.bucketMs / 1000));
      for (const row of rows) {
        const id = `${row[c.key]}|${new Date(row.ts as Date).getTime()}`;
        const cpu = expected.cpu.get(id);
        const mem = expected.mem.get(id);
        assert.ok(cpu && mem, `unexpected bucket ${id}`);
        assert.equal(Number(row.samples), cpu.n, `${id} samples`);
        assert.ok(Math.abs(Number(row.cpu_used_cores_avg) - cpu.avg) <= 1e-9 * Math.max(1, cpu.avg), `${id} cpu avg ${row.cpu_used_cores_avg} vs ${cpu.avg}`);
        assert.equal(Number(row.cpu_used_cores_max), cpu.max, `${id} cpu max`);
        if (!hasP95(c.kind, c.interval)) {
          assert.ok(!('cpu_used_cores_p95' in row) && !('mem_used_bytes_p95' in row), 'no p95 in this view');
        } else {
          assert.ok(Math.abs(Number(row.cpu_used_cores_p95) - cpu.p95) <= P95_TOLERANCE * cpu.p95, `${id} cpu p95 ${row.cpu_used_cores_p95} vs exact ${cpu.p95}`);
          assert.ok(Math.abs(Number(row.mem_used_bytes_p95) - mem.p95) <= P95_TOLERANCE * mem.p95, `${id} mem p95 ${row.mem_used_bytes_p95} vs exact ${mem.p95}`);
        }
        assert.ok(Math.abs(Number(row.mem_used_bytes_avg) - mem.avg) <= 1e-9 * mem.avg, `${id} mem avg ${row.mem_used_bytes_avg} vs ${mem.avg}`);
        assert.equal(Number(row.mem_used_bytes_max), mem.max, `${id} mem max`);
      }
    });
  }

  it('views left behind by a tear-down that dropped only the tables are dropped by the next ensureSampleTables', async () => {
    const other = isolatedConfig();
    const views = () => questdb.query<{ view_name: string; view_status: string }>(`select view_name, view_status from materialized_views() where view_name like '${other.questdb.tablePrefix}%'`);
    try {
      await ensureSampleTables(other, questdb);
      for (const t of ['vm_samples', 'host_samples']) await questdb.query(`drop table ${other.questdb.tablePrefix}${t}`);
      const orphans = await eventually(views, (v) => v.length === 4 && v.every((x) => x.view_status === 'invalid'), 10_000);
      assert.deepEqual(orphans.map((v) => v.view_status), ['invalid', 'invalid', 'invalid', 'invalid']);
      await ensureSampleTables(config, questdb);
      assert.deepEqual(await views(), []);
      // Our own views, over live tables, are untouched.
      const ours = await questdb.query<{ view_status: string }>(`select view_status from materialized_views() where view_name like '${config.questdb.tablePrefix}%'`);
      assert.deepEqual(ours.map((v) => v.view_status), ['valid', 'valid', 'valid', 'valid']);
    } finally {
      await dropSampleTables(other, questdb);
    }
  });

  it('a view an older NovaCron created with another query (a minute p95 with 3 digits) is rebuilt by ensureSampleTables; ours are left alone', async () => {
    const other = isolatedConfig();
    const name = rollupView(other, 'vm', '1m');
    const sql = () => questdb.query<{ view_sql: string; view_status: string }>('select view_sql, view_status from materialized_views() where view_name = $1', [name]);
    try {
      await ensureSampleTables(other, questdb);
      const current = (await sql())[0]!.view_sql;
      assert.ok(!current.includes('approx_percentile'), current);
      await questdb.query(`DROP MATERIALIZED VIEW ${name}`);
      await questdb.query(`CREATE MATERIALIZED VIEW ${name} AS (SELECT ts, vm_id, approx_percentile(cpu_used_cores, 0.95, 3) cpu_used_cores_p95 FROM ${other.questdb.tablePrefix}vm_samples SAMPLE BY 1m) PARTITION BY DAY`);
      assert.match((await sql())[0]!.view_sql, /0\.95, 3/);
      await ensureSampleTables(other, questdb);
      assert.equal((await sql())[0]!.view_sql, current, 'rebuilt with the current query');
      // Views whose query matches (this test's own, created in before()) are not rebuilt: their rows are still there.
      const ours = await questdb.query<{ n: string }>(`select count() n from ${rollupView(config, 'vm', '1m')}`);
      await ensureSampleTables(config, questdb);
      assert.equal((await questdb.query<{ n: string }>(`select count() n from ${rollupView(config, 'vm', '1m')}`))[0]!.n, ours[0]!.n);
    } finally {
      await dropSampleTables(other, questdb);
    }
  });

  it('the views refresh on a timer; one an older NovaCron made to refresh after every commit gets the timer and keeps its rows', async () => {
    const schedule = async (name: string) => (await questdb.query<{ refresh_type: string; timer_interval: number; timer_interval_unit: string }>(
      'select refresh_type, timer_interval, timer_interval_unit from materialized_views() where view_name = $1', [name]))[0];
    for (const interval of ['1m', '1h'] as const) {
      assert.deepEqual({ ...(await schedule(rollupView(config, 'vm', interval))) }, { refresh_type: 'timer', timer_interval: interval === '1m' ? 1 : 10, timer_interval_unit: 'MINUTE' });
    }
    const name = rollupView(config, 'host', '1m');
    const rows = async () => (await questdb.query<{ n: string }>(`select count() n from ${name}`))[0]!.n;
    const before = await rows();
    assert.ok(Number(before) > 0, 'the view has rows to keep');
    // QuestDB applies a view's ALTER through its WAL: a moment later.
    await questdb.query(`ALTER MATERIALIZED VIEW ${name} SET REFRESH IMMEDIATE`);
    await eventually(() => schedule(name), (s) => s?.refresh_type === 'immediate', 10_000);
    await ensureSampleTables(config, questdb);
    const after = await eventually(() => schedule(name), (s) => s?.refresh_type !== 'immediate', 10_000);
    assert.deepEqual({ ...after }, { refresh_type: 'timer', timer_interval: 1, timer_interval_unit: 'MINUTE' });
    assert.equal(await rows(), before, 'altered in place, not rebuilt');
  });

  it('a re-delivered sample with a new value (dedup upsert) re-aggregates its minute and hour', async () => {
    const target = vms.find((v) => v.vmId === 'vm-b' && v.ts === START + 90 * 60_000 + 17_000)!;
    await store.write([{ kind: 'vm', sample: { ...target, cpuUsedCores: 9.5 } }]);
    await waitForRollups(config, questdb, 60_000);
    const minute = Math.floor(target.ts / 60_000) * 60_000;
    const hour = Math.floor(target.ts / 3_600_000) * 3_600_000;
    const m = await questdb.query<{ cpu_used_cores_max: number; samples: string }>(`select cpu_used_cores_max, samples from ${rollupView(config, 'vm', '1m')} where vm_id = 'vm-b' and ts = $1`, [new Date(minute).toISOString()]);
    const h = await questdb.query<{ cpu_used_cores_max: number; samples: string }>(`select cpu_used_cores_max, samples from ${rollupView(config, 'vm', '1h')} where vm_id = 'vm-b' and ts = $1`, [new Date(hour).toISOString()]);
    assert.deepEqual(m.map((r) => [Number(r.cpu_used_cores_max), Number(r.samples)]), [[9.5, 60]], 'the minute sees the new value, still 60 samples (replaced, not added)');
    assert.deepEqual(h.map((r) => [Number(r.cpu_used_cores_max), Number(r.samples)]), [[9.5, 3600]]);
  });
});
