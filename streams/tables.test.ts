import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sender } from '@questdb/nodejs-client';
import { loadConfig } from '../core/index.ts';
import type { HostSample, VmSample } from '../schemas/index.ts';
import { QuestDbSampleStore, SAMPLE_TABLES, sampleTableDdl } from './index.ts';

const config = loadConfig({}, { NOVACRON_TABLE_PREFIX: 'x_' });
const [hostDdl, vmDdl] = sampleTableDdl(config) as [string, string];

/** Column names a CREATE TABLE declares, in order. */
const columns = (ddl: string): string[] =>
  ddl.slice(ddl.indexOf('(') + 1, ddl.indexOf(') TIMESTAMP(')).split(',').map((c) => c.trim().split(/\s+/)[0]!);

test('three statements: host, VM and anomaly tables, with the configured prefix', () => {
  assert.equal(sampleTableDdl(config).length, 3);
  assert.match(sampleTableDdl(config)[2]!, /^CREATE TABLE IF NOT EXISTS x_anomalies \(.*DEDUP UPSERT KEYS\(ts, vm_id, metric\)$/s);
  assert.match(hostDdl, /^CREATE TABLE IF NOT EXISTS x_host_samples \(/);
  assert.match(vmDdl, /^CREATE TABLE IF NOT EXISTS x_vm_samples \(/);
  assert.deepEqual(SAMPLE_TABLES, { host: 'host_samples', vm: 'vm_samples' });
  // Without a prefix the bare names are used.
  const [plainHost, plainVm] = sampleTableDdl(loadConfig({}, { NOVACRON_TABLE_PREFIX: '' })) as [string, string];
  assert.match(plainHost, /EXISTS host_samples \(/);
  assert.match(plainVm, /EXISTS vm_samples \(/);
});

test('both tables are WAL, partitioned by day on ts, with dedup upsert keys for idempotent re-delivery', () => {
  for (const ddl of [hostDdl, vmDdl]) {
    assert.match(ddl, /\) TIMESTAMP\(ts\) PARTITION BY DAY WAL DEDUP UPSERT KEYS\(/);
  }
  assert.match(hostDdl, /DEDUP UPSERT KEYS\(ts, host_id\)$/);
  assert.match(vmDdl, /DEDUP UPSERT KEYS\(ts, vm_id\)$/);
});

test('the store writes exactly the columns the DDL declares', async () => {
  // A recording stand-in for the QuestDB ILP Sender: captures table and column names per row.
  const rows: { table: string; cols: string[] }[] = [];
  const recorder = {
    reset() { return recorder; },
    table(name: string) { rows.push({ table: name, cols: [] }); return recorder; },
    symbol(name: string) { rows.at(-1)!.cols.push(name); return recorder; },
    floatColumn(name: string) { rows.at(-1)!.cols.push(name); return recorder; },
    intColumn(name: string) { rows.at(-1)!.cols.push(name); return recorder; },
    async at() {},
    async flush() { return true; },
    async close() {},
  };
  const store = new QuestDbSampleStore(recorder as unknown as Sender, config);
  const ts = Date.UTC(2024, 0, 1);
  const host: HostSample = { ts, hostId: 'h', cpuUsedCores: 1, cpuCapacityCores: 2, memUsedBytes: 1, memTotalBytes: 2, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, cpuStealPct: 0 };
  const vm: VmSample = { ts, hostId: 'h', vmId: 'v', cpuUsedCores: 1, vcpus: 2, memUsedBytes: 1, memTotalBytes: 2, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0 };
  await store.write([{ kind: 'host', sample: host }, { kind: 'vm', sample: vm }]);
  assert.deepEqual(rows.map((r) => r.table), ['x_host_samples', 'x_vm_samples']);
  assert.deepEqual(['ts', ...rows[0]!.cols].sort(), columns(hostDdl).sort());
  assert.deepEqual(['ts', ...rows[1]!.cols].sort(), columns(vmDdl).sort());
});
