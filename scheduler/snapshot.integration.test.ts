import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { QuestDbClient, loadConfig, questdbPgUrl, questdbTable } from '../core/index.ts';
import type { VmForecast } from '../models/index.ts';
import { buildSnapshot, planConsolidation } from './index.ts';

// Runs against the real QuestDB of the stack (PG wire 8812), in tables no other test sees.
const config = loadConfig({ ...process.env }, { NOVACRON_TABLE_PREFIX: `t_${randomBytes(4).toString('hex')}_` });
const questdb = new QuestDbClient(questdbPgUrl(config));
const table = questdbTable(config, 'host_samples');

const MIN = 60_000;
const GIB = 1024 ** 3;
const NOW = Date.UTC(2024, 0, 10, 12, 0);

const forecast = (vmId: string, hostId: string, p95CpuCores: number, memGib: number, method: VmForecast['method'] = 'ewma'): VmForecast => ({
  vmId, hostId, vcpus: 4, memTotalBytes: memGib * GIB, p95CpuCores, p95MemBytes: GIB, horizonMinutes: 60, method, historyPoints: 12,
});

before(async () => {
  await questdb.query(`CREATE TABLE ${table} (
    ts TIMESTAMP, host_id SYMBOL, cpu_used_cores DOUBLE, cpu_capacity_cores DOUBLE, mem_used_bytes LONG, mem_total_bytes LONG
  ) TIMESTAMP(ts) PARTITION BY DAY WAL`);
  const at = (minutesAgo: number) => `'${new Date(NOW - minutesAgo * MIN).toISOString()}'`;
  await questdb.query(`INSERT INTO ${table} (ts, host_id, cpu_used_cores, cpu_capacity_cores, mem_used_bytes, mem_total_bytes) VALUES
    (${at(20)}, 'h1', 1, 4, 1, ${16 * GIB}),
    (${at(5)}, 'h1', 1, 8, 1, ${32 * GIB}),
    (${at(-5)}, 'h1', 1, 64, 1, ${512 * GIB}),
    (${at(10)}, 'h2', 1, 8, 1, ${32 * GIB}),
    (${at(0)}, 'h2', 1, null, 1, null),
    (${at(3000)}, 'spare', 0, 16, 0, ${64 * GIB})`);
  await questdb.waitForWalApplied(table);
});

after(async () => {
  await questdb.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await questdb.close();
});

test('buildSnapshot takes each host from its latest sample before `now` and each forecast as a demand', async () => {
  const forecasts = [forecast('vm-2', 'h2', 1.5, 4, 'seasonal-naive'), forecast('vm-1', 'h1', 0.5, 2)];
  const snapshot = await buildSnapshot(questdb, config, forecasts, NOW);
  assert.deepEqual(snapshot, {
    takenAt: NOW,
    hosts: [
      { hostId: 'h1', cpuCores: 8, memBytes: 32 * GIB },
      // Its newest row has no capacity, so the one before counts.
      { hostId: 'h2', cpuCores: 8, memBytes: 32 * GIB },
      // Hosts without VMs still count as hosts.
      { hostId: 'spare', cpuCores: 16, memBytes: 64 * GIB },
    ],
    vms: [
      { vmId: 'vm-1', hostId: 'h1', cpuCores: 0.5, memBytes: 2 * GIB, source: 'ewma' },
      { vmId: 'vm-2', hostId: 'h2', cpuCores: 1.5, memBytes: 4 * GIB, source: 'seasonal-naive' },
    ],
  });
  const plan = planConsolidation(snapshot);
  assert.deepEqual([plan.hostsBefore, plan.hostsAfter], [2, 1]);
});

test('a forecast on a host without a capacity sample is refused with a typed error', async () => {
  await assert.rejects(buildSnapshot(questdb, config, [forecast('vm-9', 'ghost', 1, 1)], NOW), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'SCHEDULER_HOST_CAPACITY_MISSING');
    assert.deepEqual((err as { details?: unknown }).details, { hostIds: ['ghost'], vmIds: ['vm-9'] });
    return true;
  });
});
