import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { QuestDbClient, loadConfig, questdbPgUrl, questdbTable } from '../core/index.ts';
import { forecastFleet, forecastVm, loadVmHistory } from './index.ts';

// Runs against the real QuestDB of the stack (PG wire 8812), in tables no other test sees.
const config = loadConfig({ ...process.env }, { NOVACRON_TABLE_PREFIX: `t_${randomBytes(4).toString('hex')}_` });
const questdb = new QuestDbClient(questdbPgUrl(config));
const table = questdbTable(config, 'vm_samples');

const MIN = 60_000;
const GIB = 1024 ** 3;
const NOW = Date.UTC(2024, 0, 10, 12, 0);

interface Row {
  ts: number;
  host: string;
  vm: string;
  cpu: number | null;
  vcpus: number;
  mem: number | null;
  memTotal: number;
}

const rows: Row[] = [];
// vm-a: 25 h of 5-minute samples, one exactly at the (exclusive) start of the lookback.
for (let ts = NOW - 1500 * MIN; ts <= NOW; ts += 5 * MIN) {
  const k = (ts - (NOW - 1440 * MIN)) / (5 * MIN);
  rows.push({ ts, host: 'h1', vm: 'vm-a', cpu: k >= 1 && k <= 12 ? k * 0.25 : 0.5, vcpus: 4, mem: 2 * GIB, memTotal: 8 * GIB });
}
// vm-b: 2 h of history, moved from h1 to h2 and resized half-way.
for (let i = 0, ts = NOW - 120 * MIN; ts <= NOW; i++, ts += 5 * MIN) {
  const late = ts > NOW - 60 * MIN;
  rows.push({ ts, host: late ? 'h2' : 'h1', vm: 'vm-b', cpu: 1 + (i % 4) * 0.1, vcpus: late ? 4 : 2, mem: GIB + i * 1000, memTotal: (late ? 4 : 2) * GIB });
}
// vm-c: two usable samples, one sample missing its CPU figure, and one after the window.
rows.push({ ts: NOW - 10 * MIN, host: 'h2', vm: 'vm-c', cpu: 0.7, vcpus: 1, mem: 512 * 2 ** 20, memTotal: GIB });
rows.push({ ts: NOW - 5 * MIN, host: 'h2', vm: 'vm-c', cpu: null, vcpus: 1, mem: 600 * 2 ** 20, memTotal: GIB });
rows.push({ ts: NOW, host: 'h2', vm: 'vm-c', cpu: 0.9, vcpus: 1, mem: 700 * 2 ** 20, memTotal: GIB });
rows.push({ ts: NOW + 5 * MIN, host: 'h3', vm: 'vm-c', cpu: 1, vcpus: 1, mem: 800 * 2 ** 20, memTotal: GIB });
// vm-d: only samples older than the lookback.
rows.push({ ts: NOW - 2000 * MIN, host: 'h1', vm: 'vm-d', cpu: 1, vcpus: 1, mem: GIB, memTotal: GIB });

const lit = (x: number | null) => (x === null ? 'null' : String(x));

before(async () => {
  await questdb.query(`CREATE TABLE ${table} (
    ts TIMESTAMP, host_id SYMBOL, vm_id SYMBOL, cpu_used_cores DOUBLE, vcpus DOUBLE, mem_used_bytes LONG, mem_total_bytes LONG
  ) TIMESTAMP(ts) PARTITION BY DAY WAL`);
  // Insert newest-first to show the reader does not depend on insertion order.
  const shuffled = [...rows].reverse();
  for (let i = 0; i < shuffled.length; i += 200) {
    const values = shuffled
      .slice(i, i + 200)
      .map((r) => `('${new Date(r.ts).toISOString()}', '${r.host}', '${r.vm}', ${lit(r.cpu)}, ${r.vcpus}, ${lit(r.mem)}, ${r.memTotal})`);
    await questdb.query(`INSERT INTO ${table} (ts, host_id, vm_id, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes) VALUES ${values.join(', ')}`);
  }
  await questdb.waitForWalApplied(table);
});

after(async () => {
  await questdb.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await questdb.close();
});

test('loadVmHistory returns each VM in the window, oldest first, with the meta of its latest sample', async () => {
  const history = await loadVmHistory(questdb, config, { lookbackMinutes: 1500, until: NOW });
  assert.deepEqual(history.map((h) => h.vmId), ['vm-a', 'vm-b', 'vm-c']);
  const [a, b, c] = history;
  assert.equal(a!.points.length, 300, 'the sample exactly lookback ago is outside the window');
  assert.equal(a!.points[0]!.ts, NOW - 1495 * MIN);
  assert.equal(a!.points.at(-1)!.ts, NOW);
  assert.ok(a!.points.every((p, i) => i === 0 || p.ts > a!.points[i - 1]!.ts));
  assert.deepEqual({ hostId: a!.hostId, vcpus: a!.vcpus, memTotalBytes: a!.memTotalBytes }, { hostId: 'h1', vcpus: 4, memTotalBytes: 8 * GIB });
  assert.deepEqual({ hostId: b!.hostId, vcpus: b!.vcpus, memTotalBytes: b!.memTotalBytes, n: b!.points.length }, { hostId: 'h2', vcpus: 4, memTotalBytes: 4 * GIB, n: 25 });
  assert.equal(b!.points[3]!.memBytes, GIB + 3000);
  assert.deepEqual(c!.points, [
    { ts: NOW - 10 * MIN, cpuCores: 0.7, memBytes: 512 * 2 ** 20 },
    { ts: NOW, cpuCores: 0.9, memBytes: 700 * 2 ** 20 },
  ]);
  assert.equal(c!.hostId, 'h2', 'the sample after `until` is not read');
});

test('forecastFleet forecasts every VM with the method its history allows', async () => {
  const forecasts = await forecastFleet(questdb, config, { now: NOW });
  assert.deepEqual(forecasts.map((f) => [f.vmId, f.method, f.hostId]), [
    ['vm-a', 'seasonal-naive', 'h1'],
    ['vm-b', 'ewma', 'h2'],
    ['vm-c', 'last-value', 'h2'],
  ]);
  // The p95 of the hour that followed this time yesterday: 0.25 … 3.00 cores.
  assert.ok(Math.abs(forecasts[0]!.p95CpuCores - 2.8625) < 1e-12);
  assert.equal(forecasts[2]!.p95CpuCores, 0.9);
  const history = await loadVmHistory(questdb, config, { lookbackMinutes: 1500, until: NOW });
  assert.deepEqual(forecasts, history.map((h) => forecastVm(h.points, h, { horizonMinutes: 60, now: NOW })));
});

test('a window with no samples gives no forecasts', async () => {
  assert.deepEqual(await forecastFleet(questdb, config, { now: NOW - 3000 * MIN, lookbackMinutes: 60 }), []);
});
