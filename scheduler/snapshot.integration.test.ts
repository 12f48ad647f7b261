import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { QuestDbClient, loadConfig, questdbPgUrl, questdbTable } from '../core/index.ts';
import type { VmHistory } from '../models/index.ts';
import { buildSnapshot, planFleet } from './index.ts';

// Runs against the real QuestDB of the stack (PG wire 8812), in tables no other test sees.
const config = loadConfig({ ...process.env }, { NOVACRON_TABLE_PREFIX: `t_${randomBytes(4).toString('hex')}_` });
const questdb = new QuestDbClient(questdbPgUrl(config));
const table = questdbTable(config, 'host_samples');

const MIN = 60_000;
const GIB = 1024 ** 3;
const NOW = Date.UTC(2024, 0, 10, 12, 0);

const history = (vmId: string, hostId: string, cpu: number[], memGib: number): VmHistory => ({
  vmId, hostId, vcpus: 4, memTotalBytes: memGib * GIB,
  // One sample a minute, ending at NOW.
  points: cpu.map((c, i) => ({ ts: NOW - (cpu.length - 1 - i) * MIN, cpuCores: c, memBytes: GIB })),
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

test('buildSnapshot takes each host from its latest sample before `now` and each VM with its CPU now and its history in steps', async () => {
  // vm-1: ten one-minute samples → two 5-minute steps (means 1 and 2); vm-2: one sample.
  const histories = [history('vm-2', 'h2', [1.5], 4), history('vm-1', 'h1', [1, 1, 1, 1, 1, 2, 2, 2, 2, 2], 2)];
  const snapshot = await buildSnapshot(questdb, config, histories, NOW, { stepMs: 5 * MIN, steps: 3 });
  assert.deepEqual(snapshot, {
    takenAt: NOW,
    stepSeconds: 300,
    hosts: [
      { hostId: 'h1', cpuCores: 8, memBytes: 32 * GIB },
      // Its newest row has no capacity, so the one before counts.
      { hostId: 'h2', cpuCores: 8, memBytes: 32 * GIB },
      // Hosts without VMs still count as hosts.
      { hostId: 'spare', cpuCores: 16, memBytes: 64 * GIB },
    ],
    vms: [
      { vmId: 'vm-1', hostId: 'h1', cpuCores: 2, cpuHistory: [1, 2], memUsedHistory: [GIB, GIB], memBytes: 2 * GIB, vcpus: 4, source: 'telemetry' },
      { vmId: 'vm-2', hostId: 'h2', cpuCores: 1.5, cpuHistory: [1.5], memUsedHistory: [GIB], memBytes: 4 * GIB, vcpus: 4, source: 'telemetry' },
    ],
  });
  const plan = planFleet(snapshot);
  assert.deepEqual([plan.hostsBefore, plan.hostsAfter], [2, 1]);
});

test('a VM on a host without a capacity sample is refused with a typed error', async () => {
  await assert.rejects(buildSnapshot(questdb, config, [history('vm-9', 'ghost', [1], 1)], NOW, { steps: 3 }), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'SCHEDULER_HOST_CAPACITY_MISSING');
    assert.deepEqual((err as { details?: unknown }).details, { hostIds: ['ghost'], vmIds: ['vm-9'] });
    return true;
  });
});
