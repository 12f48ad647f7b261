import { questdbTable, type Config, type QuestDbClient } from '../core/index.ts';
import { dropRollups, ensureRollups } from './rollups.ts';
import { pipelineStatsTableDdl, planSeriesTableDdl, SERIES_TABLES } from './series-tables.ts';

/** Column layout of the raw sample tables; models and scheduler read these names. */
export const SAMPLE_TABLES = {
  host: 'host_samples',
  vm: 'vm_samples',
} as const;

/** Anomaly events raised by the streams worker (Grafana annotates charts from it). */
export const ANOMALY_TABLE = 'anomalies';

/**
 * WAL tables with DEDUP UPSERT KEYS: a re-delivered sample (same series, same ts) replaces
 * the stored row instead of adding one, which makes at-least-once delivery exact.
 */
export function sampleTableDdl(config: Config): string[] {
  const host = questdbTable(config, SAMPLE_TABLES.host);
  const vm = questdbTable(config, SAMPLE_TABLES.vm);
  return [
    `CREATE TABLE IF NOT EXISTS ${host} (
      ts TIMESTAMP, host_id SYMBOL CAPACITY 4096,
      cpu_used_cores DOUBLE, cpu_capacity_cores DOUBLE, mem_used_bytes LONG, mem_total_bytes LONG,
      disk_read_bps DOUBLE, disk_write_bps DOUBLE, net_rx_bps DOUBLE, net_tx_bps DOUBLE, cpu_steal_pct DOUBLE
    ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, host_id)`,
    `CREATE TABLE IF NOT EXISTS ${vm} (
      ts TIMESTAMP, host_id SYMBOL CAPACITY 4096, vm_id SYMBOL CAPACITY 131072,
      cpu_used_cores DOUBLE, vcpus DOUBLE, mem_used_bytes LONG, mem_total_bytes LONG,
      disk_read_bps DOUBLE, disk_write_bps DOUBLE, net_rx_bps DOUBLE, net_tx_bps DOUBLE, vcpu_delay_pct DOUBLE
    ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, vm_id)`,
    `CREATE TABLE IF NOT EXISTS ${questdbTable(config, ANOMALY_TABLE)} (
      ts TIMESTAMP, host_id SYMBOL CAPACITY 4096, vm_id SYMBOL CAPACITY 131072, metric SYMBOL,
      value DOUBLE, expected DOUBLE, score DOUBLE, explanation VARCHAR
    ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, vm_id, metric)`,
  ];
}

/**
 * Creates the sample tables, their rollup views (streams/rollups.ts) and the dashboards' series
 * tables (streams/series-tables.ts) if missing (idempotent).
 */
export async function ensureSampleTables(config: Config, questdb: QuestDbClient): Promise<void> {
  for (const ddl of [...sampleTableDdl(config), pipelineStatsTableDdl(config), ...planSeriesTableDdl(config)]) await questdb.query(ddl);
  await ensureRollups(config, questdb);
}

/**
 * Drops what ensureSampleTables created: the rollup views first (QuestDB keeps a view whose
 * base table is dropped, as an invalid one), then the tables. For tests and teardown.
 */
export async function dropSampleTables(config: Config, questdb: QuestDbClient): Promise<void> {
  await dropRollups(config, questdb);
  for (const name of [SAMPLE_TABLES.host, SAMPLE_TABLES.vm, ANOMALY_TABLE, ...SERIES_TABLES]) await questdb.query(`DROP TABLE IF EXISTS ${questdbTable(config, name)}`);
}
