import { NovaError, questdbTable, type Config, type QuestDbClient } from '../core/index.ts';
import { dropRollups, ensureRollups } from './rollups.ts';
import { pipelineStatsTableDdl, planSeriesTableDdl, SERIES_TABLES } from './series-tables.ts';

/** Column layout of the raw sample tables; models and scheduler read these names. */
export const SAMPLE_TABLES = {
  host: 'host_samples',
  vm: 'vm_samples',
} as const;

/** Anomaly events raised by the streams worker (Grafana annotates charts from it). */
export const ANOMALY_TABLE = 'anomalies';

/** One table the worker writes: its columns (name, DDL type), and the DEDUP UPSERT KEYS that make re-delivery exact. */
export interface TableSpec {
  readonly name: string;
  readonly columns: readonly (readonly [name: string, ddlType: string])[];
  readonly dedupKeys: readonly string[];
}

export const SAMPLE_TABLE_SPECS: readonly TableSpec[] = [
  {
    name: SAMPLE_TABLES.host,
    columns: [
      ['ts', 'TIMESTAMP'], ['host_id', 'SYMBOL CAPACITY 4096'],
      ['cpu_used_cores', 'DOUBLE'], ['cpu_capacity_cores', 'DOUBLE'], ['mem_used_bytes', 'LONG'], ['mem_total_bytes', 'LONG'],
      ['disk_read_bps', 'DOUBLE'], ['disk_write_bps', 'DOUBLE'], ['net_rx_bps', 'DOUBLE'], ['net_tx_bps', 'DOUBLE'], ['cpu_steal_pct', 'DOUBLE'],
    ],
    dedupKeys: ['ts', 'host_id'],
  },
  {
    name: SAMPLE_TABLES.vm,
    columns: [
      ['ts', 'TIMESTAMP'], ['host_id', 'SYMBOL CAPACITY 4096'], ['vm_id', 'SYMBOL CAPACITY 131072'],
      ['cpu_used_cores', 'DOUBLE'], ['vcpus', 'DOUBLE'], ['mem_used_bytes', 'LONG'], ['mem_total_bytes', 'LONG'],
      ['disk_read_bps', 'DOUBLE'], ['disk_write_bps', 'DOUBLE'], ['net_rx_bps', 'DOUBLE'], ['net_tx_bps', 'DOUBLE'], ['vcpu_delay_pct', 'DOUBLE'],
    ],
    dedupKeys: ['ts', 'vm_id'],
  },
  {
    name: ANOMALY_TABLE,
    columns: [
      ['ts', 'TIMESTAMP'], ['host_id', 'SYMBOL CAPACITY 4096'], ['vm_id', 'SYMBOL CAPACITY 131072'], ['metric', 'SYMBOL'],
      ['value', 'DOUBLE'], ['expected', 'DOUBLE'], ['score', 'DOUBLE'], ['explanation', 'VARCHAR'],
    ],
    dedupKeys: ['ts', 'vm_id', 'metric'],
  },
];

/**
 * WAL tables with DEDUP UPSERT KEYS: a re-delivered sample (same series, same ts) replaces
 * the stored row instead of adding one, which makes at-least-once delivery exact.
 */
export function sampleTableDdl(config: Config): string[] {
  return SAMPLE_TABLE_SPECS.map((t) =>
    `CREATE TABLE IF NOT EXISTS ${questdbTable(config, t.name)} (\n      ${t.columns.map(([c, type]) => `${c} ${type}`).join(', ')}\n    ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(${t.dedupKeys.join(', ')})`);
}

/**
 * What is wrong with an existing table's layout (table_columns() rows, walEnabled) against its
 * spec; empty when it fits. Extra columns are fine (ILP may add some); a missing or retyped
 * column, another designated timestamp or missing dedup keys are not.
 */
export function tableLayoutProblems(spec: TableSpec, columns: readonly TableColumnRow[], walEnabled: boolean): string[] {
  const problems: string[] = [];
  const byName = new Map(columns.map((c) => [c.column, c]));
  for (const [name, ddlType] of spec.columns) {
    const want = ddlType.split(' ')[0]!;
    const have = byName.get(name);
    if (!have) problems.push(`no column ${name} (${want})`);
    else if (have.type !== want) problems.push(`column ${name} is ${have.type}, not ${want}`);
  }
  const designated = columns.find((c) => c.designated)?.column;
  if (designated !== 'ts') problems.push(designated === undefined ? 'no designated timestamp (want ts)' : `designated timestamp is ${designated}, not ts`);
  const keys = columns.filter((c) => c.upsertKey).map((c) => c.column);
  if (!spec.dedupKeys.every((k) => keys.includes(k))) problems.push(`dedup upsert keys are (${keys.join(', ') || 'none'}), not (${spec.dedupKeys.join(', ')}): re-delivered samples would be stored twice`);
  if (!walEnabled) problems.push('not a WAL table');
  return problems;
}

/** A row of QuestDB's table_columns(). */
export interface TableColumnRow {
  column: string;
  type: string;
  designated: boolean;
  upsertKey: boolean;
}

/**
 * Throws STORE_TABLE_MISMATCH when a sample table exists with another layout. How that
 * happens: an ILP write reached QuestDB before the tables were created (QuestDB then creates
 * the table itself, with a `timestamp` column and no dedup keys); every later write would then
 * fail with a parse error naming a column, or worse, succeed and store re-deliveries twice.
 */
async function checkSampleTables(config: Config, questdb: QuestDbClient): Promise<void> {
  for (const spec of SAMPLE_TABLE_SPECS) {
    const table = questdbTable(config, spec.name);
    // table_columns() takes no bind variable: the name goes in as a quoted literal.
    const columns = await questdb.query<TableColumnRow>(`select "column", type, designated, upsertKey from table_columns('${table.replaceAll("'", "''")}')`);
    const wal = await questdb.query<{ walEnabled: boolean }>('select walEnabled from tables() where table_name = $1', [table]);
    const problems = tableLayoutProblems(spec, columns, wal[0]?.walEnabled ?? false);
    if (problems.length > 0) {
      throw new NovaError('STORE_TABLE_MISMATCH', `QuestDB table ${table} exists with another layout than NovaCron writes: ${problems.join('; ')}. It was probably created by a write that came before the tables were set up. Drop it (DROP TABLE ${table}, after saving any rows you need) and start the worker again, or use another NOVACRON_TABLE_PREFIX`, { details: { table, problems } });
    }
  }
}

/**
 * Creates the sample tables, their rollup views (streams/rollups.ts) and the dashboards' series
 * tables (streams/series-tables.ts) if missing (idempotent), and checks that sample tables
 * which already existed have the layout the worker writes (STORE_TABLE_MISMATCH otherwise).
 */
export async function ensureSampleTables(config: Config, questdb: QuestDbClient): Promise<void> {
  for (const ddl of [...sampleTableDdl(config), pipelineStatsTableDdl(config), ...planSeriesTableDdl(config)]) await questdb.query(ddl);
  await checkSampleTables(config, questdb);
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
