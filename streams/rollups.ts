import { NovaError, questdbTable, type Config, type QuestDbClient } from '../core/index.ts';

/**
 * Rollups are QuestDB materialized views over the raw sample tables: QuestDB refreshes them
 * incrementally as rows land (and again for a late or re-delivered row's bucket), so nothing
 * in the worker aggregates by hand and a worker restart loses nothing.
 *
 * p95 is `approx_percentile(x, 0.95, 2)`, in the hourly host views only (see hasP95): QuestDB 9.3 has no exact
 * percentile function (no percentile_disc/percentile_cont), and approx_percentile is accepted in
 * a view. It is an HdrHistogram quantile with 2 significant digits (within 1 % of the exact
 * nearest-rank p95), held on QuestDB's Java heap, one histogram per series and bucket while a
 * refresh runs. Measured on QuestDB 9.3.2 with its 2 GB heap (16,000 VMs, 6 h of 5-minute rows):
 * a minute view with 3 digits ran out of heap ("GC overhead limit exceeded", the view invalid;
 * in one run the heap error killed QuestDB's log writer and left a refresh thread spinning on a
 * core), with 2 digits too; an hourly view took 30 s with 3 digits, 4 s with 2. The minute
 * views carry no p95: a minute holds 6 samples at the default 10 s interval, whose nearest-rank
 * p95 is their max. approx_percentile rejects negative inputs, which validateSample keeps out.
 */
export const ROLLUP_INTERVALS = ['1m', '1h'] as const;
export type RollupInterval = (typeof ROLLUP_INTERVALS)[number];

interface RollupSource {
  /** Raw table (unprefixed). */
  table: string;
  /** The series key each row of the view is grouped by. */
  key: string;
  /** Columns whose latest value in the bucket is carried along (capacity for rightsizing). */
  last: string[];
}

const SOURCES = {
  vm: { table: 'vm_samples', key: 'vm_id', last: ['host_id', 'vcpus', 'mem_total_bytes'] },
  host: { table: 'host_samples', key: 'host_id', last: ['cpu_capacity_cores', 'mem_total_bytes'] },
} as const satisfies Record<string, RollupSource>;

/** The metrics every rollup summarises with avg and max, and the hourly ones with p95 too. */
export const ROLLUP_METRICS = ['cpu_used_cores', 'mem_used_bytes'] as const;

const P95_DIGITS = 2;

/**
 * Whether a rollup view carries a p95: the hourly host views only (see above why no minute view
 * does). Per VM and hour it cost too much at fleet scale: with 100,000 VMs at 45,000 samples/s
 * (bench:ingest, 2 workers) p99 sample-to-queryable latency was 9.9 s with it and 4.3 s without
 * (4.7 s with no hourly view at all), QuestDB refreshing the hour's bucket, a histogram per VM,
 * after every commit. A VM's hourly p95 is a query-time SAMPLE BY over vm_samples instead.
 */
export function hasP95(kind: RollupKind, interval: RollupInterval): boolean {
  return kind === 'host' && interval === '1h';
}

// Minute rollups in day partitions, hour rollups in month partitions: a few hundred MB per partition at fleet scale.
const PARTITION: Record<RollupInterval, string> = { '1m': 'DAY', '1h': 'MONTH' };

/**
 * How often QuestDB refreshes each view, in minutes (a timer, `REFRESH EVERY`), instead of after
 * every transaction of the base table (QuestDB's default, IMMEDIATE). Why: an incremental refresh
 * recomputes every bucket a transaction touched, so with the worker committing many times a
 * second each commit re-aggregated the current minute and the whole current hour of every VM.
 * bench:ingest (100,000 VMs, 60,000 samples/s, rdkafka, 1 worker): after every commit, 57,140
 * samples/s landed, saturated, p99 22 s; every view on a 1-minute timer, 59,539/s unsaturated, p99 1.4 s.
 * The cost is freshness: a minute view lags the raw table by up to a minute, an hourly one by up
 * to ten (dashboards read the last minutes from the raw table, see grafana/). QuestDB's timer
 * takes whole minutes at least. waitForRollups asks for a refresh instead of waiting for the timer.
 */
export const ROLLUP_REFRESH_MINUTES: Readonly<Record<RollupInterval, number>> = Object.freeze({ '1m': 1, '1h': 10 });

export type RollupKind = keyof typeof SOURCES;

/** Name of one rollup view under the table prefix, e.g. `vm_samples_1m`. */
export function rollupView(config: Config, kind: RollupKind, interval: RollupInterval): string {
  return questdbTable(config, `${SOURCES[kind].table}_${interval}`);
}

export interface RollupViewDdl {
  name: string;
  base: string;
  /** The view's query, as QuestDB reports it back in materialized_views().view_sql. */
  query: string;
  /** Minutes between QuestDB's refreshes of the view (ROLLUP_REFRESH_MINUTES). */
  refreshMinutes: number;
  ddl: string;
}

/** Every rollup view with its DDL; each reads the raw table directly (a p95 cannot be rolled up from minute p95s). */
export function rollupViews(config: Config): RollupViewDdl[] {
  const out: RollupViewDdl[] = [];
  for (const kind of Object.keys(SOURCES) as RollupKind[]) {
    const src: RollupSource = SOURCES[kind];
    const base = questdbTable(config, src.table);
    for (const interval of ROLLUP_INTERVALS) {
      const name = rollupView(config, kind, interval);
      const p95 = hasP95(kind, interval);
      const aggregates = ROLLUP_METRICS.flatMap((m) => [`avg(${m}) ${m}_avg`, `max(${m}) ${m}_max`, ...(p95 ? [`approx_percentile(${m}, 0.95, ${P95_DIGITS}) ${m}_p95`] : [])]);
      const columns = [`ts`, src.key, ...src.last.map((c) => `last(${c}) ${c}`), ...aggregates, 'count() samples'];
      const query = `SELECT ${columns.join(', ')} FROM ${base} SAMPLE BY ${interval}`;
      const refreshMinutes = ROLLUP_REFRESH_MINUTES[interval];
      out.push({
        name,
        base,
        query,
        refreshMinutes,
        ddl: `CREATE MATERIALIZED VIEW IF NOT EXISTS ${name} REFRESH EVERY ${refreshMinutes}m AS (${query}) PARTITION BY ${PARTITION[interval]}`,
      });
    }
  }
  return out;
}

/** Query text compared as QuestDB may give it back: case and runs of whitespace aside. */
const sameQuery = (a: string, b: string): boolean => a.replace(/\s+/g, ' ').trim().toLowerCase() === b.replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * Creates the rollup views if missing. A view QuestDB marked invalid (its base table was
 * dropped and created again, or a refresh failed) never refreshes again by itself, and a view
 * an older NovaCron created with another query (the minute views' heap-hungry p95) would keep
 * it: either is dropped and created anew, which rebuilds it from the raw rows. A view with the
 * right query but another refresh schedule (an older NovaCron's refresh after every commit)
 * keeps its rows and gets the schedule (ALTER ... SET REFRESH).
 */
export async function ensureRollups(config: Config, questdb: QuestDbClient): Promise<void> {
  await dropOrphanRollups(questdb);
  for (const view of rollupViews(config)) {
    const found = await questdb.query<{ view_status: string; view_sql: string; refresh_type: string; timer_interval: number; timer_interval_unit: string | null }>(
      'select view_status, view_sql, refresh_type, timer_interval, timer_interval_unit from materialized_views() where view_name = $1', [view.name]);
    const row = found[0];
    const stale = row && (row.view_status === 'invalid' || !sameQuery(row.view_sql, view.query));
    if (stale) await dropViewAndWait(questdb, view.name);
    await questdb.query(view.ddl);
    const onSchedule = row && row.refresh_type === 'timer' && Number(row.timer_interval) === view.refreshMinutes && row.timer_interval_unit === 'MINUTE';
    if (row && !stale && !onSchedule) await questdb.query(`ALTER MATERIALIZED VIEW ${view.name} SET REFRESH EVERY ${view.refreshMinutes}m`);
  }
}

/**
 * Drops a view and waits until QuestDB no longer lists it. Why wait: the drop can reach
 * materialized_views() a moment after the statement returns, and a CREATE ... IF NOT EXISTS
 * issued in that moment does nothing, leaving the old view in place (seen once in CI).
 */
async function dropViewAndWait(questdb: QuestDbClient, name: string, timeoutMs = 10_000): Promise<void> {
  await questdb.query(`DROP MATERIALIZED VIEW IF EXISTS ${name}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Both listings: CREATE ... IF NOT EXISTS checks the table registry, which tables() shows.
    const views = await questdb.query<{ n: string }>('select count() n from materialized_views() where view_name = $1', [name]);
    const tables = await questdb.query<{ n: string }>('select count() n from tables() where table_name = $1', [name]);
    if (Number(views[0]?.n ?? 0) + Number(tables[0]?.n ?? 0) === 0) return;
    if (Date.now() > deadline) throw new NovaError('QUESTDB_ROLLUP_DROP_TIMEOUT', `rollup view ${name} was dropped but QuestDB still lists it after ${timeoutMs} ms; see the QuestDB log`, { retriable: true });
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Names every rollup view has, whatever the table prefix.
const ROLLUP_NAME = new RegExp(`(^|_)(${Object.values(SOURCES).map((s) => s.table).join('|')})_(${ROLLUP_INTERVALS.join('|')})$`);

/**
 * Drops rollup views (of any table prefix) whose base table no longer exists. QuestDB keeps
 * such a view, invalid, when its table is dropped without it (a test or a tear-down that
 * dropped only the tables); nothing can refresh it again, so it is only clutter.
 */
export async function dropOrphanRollups(questdb: QuestDbClient): Promise<string[]> {
  const invalid = await questdb.query<{ view_name: string; base_table_name: string }>(
    "select view_name, base_table_name from materialized_views() where view_status = 'invalid'");
  const dropped: string[] = [];
  for (const v of invalid.filter((x) => ROLLUP_NAME.test(x.view_name))) {
    const base = await questdb.query<{ n: string }>('select count() n from tables() where table_name = $1', [v.base_table_name]);
    if (Number(base[0]?.n ?? 1) > 0) continue;
    await questdb.query(`DROP MATERIALIZED VIEW IF EXISTS ${v.view_name}`);
    dropped.push(v.view_name);
  }
  return dropped;
}

/** Drops the rollup views (before their base tables: QuestDB does not cascade). */
export async function dropRollups(config: Config, questdb: QuestDbClient): Promise<void> {
  for (const view of rollupViews(config)) await questdb.query(`DROP MATERIALIZED VIEW IF EXISTS ${view.name}`);
}

/**
 * Resolves once every row committed to the base tables is in the views: each view has
 * refreshed up to its base table's latest transaction and applied its own WAL. The views
 * refresh on a timer (ROLLUP_REFRESH_MINUTES), so this asks QuestDB for an incremental refresh
 * of each first rather than waiting for the next tick.
 */
export async function waitForRollups(config: Config, questdb: QuestDbClient, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const view of rollupViews(config)) {
    await questdb.waitForWalApplied(view.base, Math.max(1, deadline - Date.now()));
    await questdb.query(`REFRESH MATERIALIZED VIEW ${view.name} INCREMENTAL`);
    for (;;) {
      const rows = await questdb.query<{ view_status: string; refresh_base_table_txn: string; base_table_txn: string; invalidation_reason: string | null }>(
        'select view_status, refresh_base_table_txn, base_table_txn, invalidation_reason from materialized_views() where view_name = $1', [view.name]);
      const row = rows[0];
      if (!row) throw new NovaError('QUESTDB_ROLLUP_MISSING', `rollup view ${view.name} does not exist; create it with ensureSampleTables (./novacron worker does)`);
      if (row.view_status === 'invalid') throw new NovaError('QUESTDB_ROLLUP_INVALID', `rollup view ${view.name} is invalid (${row.invalidation_reason ?? 'see the QuestDB log'}); ensureSampleTables rebuilds it`);
      if (BigInt(row.refresh_base_table_txn) >= BigInt(row.base_table_txn)) break;
      if (Date.now() > deadline) throw new NovaError('QUESTDB_ROLLUP_LAG', `rollup view ${view.name} did not refresh within ${timeoutMs} ms; see the QuestDB log`, { retriable: true });
      await new Promise((r) => setTimeout(r, 100));
    }
    await questdb.waitForWalApplied(view.name, Math.max(1, deadline - Date.now()));
  }
}
