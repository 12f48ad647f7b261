import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../core/index.ts';
import { SAMPLE_TABLES, sampleTableDdl } from './index.ts';
import { SAMPLE_TABLE_SPECS, tableLayoutProblems } from './tables.ts';

const config = loadConfig({}, { NOVACRON_TABLE_PREFIX: 'x_' });
const [hostDdl, vmDdl] = sampleTableDdl(config) as [string, string];

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

test('an existing table is checked against its spec: missing or retyped columns, another designated timestamp, missing dedup keys, no WAL', () => {
  const vm = SAMPLE_TABLE_SPECS.find((t) => t.name === SAMPLE_TABLES.vm)!;
  const proper = vm.columns.map(([column, ddl]) => ({ column, type: ddl.split(' ')[0]!, designated: column === 'ts', upsertKey: vm.dedupKeys.includes(column) }));
  assert.deepEqual(tableLayoutProblems(vm, proper, true), []);
  // Extra columns (ILP adds any it is sent) are fine.
  assert.deepEqual(tableLayoutProblems(vm, [...proper, { column: 'extra', type: 'DOUBLE', designated: false, upsertKey: false }], true), []);
  const retyped = proper.map((c) => (c.column === 'vcpus' ? { ...c, type: 'LONG' } : c)).filter((c) => c.column !== 'net_tx_bps');
  assert.deepEqual(tableLayoutProblems(vm, retyped, true), ['column vcpus is LONG, not DOUBLE', 'no column net_tx_bps (DOUBLE)']);
  const noKeys = proper.map((c) => ({ ...c, upsertKey: false }));
  assert.deepEqual(tableLayoutProblems(vm, noKeys, false), ['dedup upsert keys are (none), not (ts, vm_id): re-delivered samples would be stored twice', 'not a WAL table']);
  const undesignated = proper.map((c) => ({ ...c, designated: false }));
  assert.deepEqual(tableLayoutProblems(vm, undesignated, true), ['no designated timestamp (want ts)']);
});
