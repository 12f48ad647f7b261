import { questdbTable, type Config } from '../core/index.ts';

/**
 * QuestDB tables that exist for the dashboards (grafana/): what the planner forecast and expects
 * to save, and how the streams workers keep up. Their sources live in PostgreSQL (plans) and in
 * each worker's memory (/metrics); written here as time series, Grafana can chart them over time
 * beside the samples without a second datasource.
 */

/** A row per streams worker every NOVACRON_PIPELINE_STATS_SECONDS (streams/pipeline-stats.ts). */
export const PIPELINE_STATS_TABLE = 'pipeline_stats';

/** What each planning cycle writes (streams/plan-series.ts). */
export const PLAN_SERIES_TABLES = {
  /** Each VM's next-interval CPU forecast, as the planner used it. */
  forecasts: 'vm_forecasts',
  /** Each plan's expected savings. */
  savings: 'plan_savings',
} as const;

/** DDL of the planner's two tables; DEDUP keys make a re-written row replace the first. */
export function planSeriesTableDdl(config: Config): string[] {
  return [
    // ts = the end of the interval forecast for; the latest forecast of that interval wins.
    `CREATE TABLE IF NOT EXISTS ${questdbTable(config, PLAN_SERIES_TABLES.forecasts)} (
      ts TIMESTAMP, made_at TIMESTAMP, host_id SYMBOL CAPACITY 4096, vm_id SYMBOL CAPACITY 131072,
      plan_id LONG, cpu_now DOUBLE, cpu_p50 DOUBLE, cpu_p90 DOUBLE, cpu_p99 DOUBLE, vcpus DOUBLE
    ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, vm_id)`,
    `CREATE TABLE IF NOT EXISTS ${questdbTable(config, PLAN_SERIES_TABLES.savings)} (
      ts TIMESTAMP, plan_id LONG, hosts_before LONG, hosts_after LONG, hosts_saved LONG,
      migrations LONG, power_offs LONG, watts DOUBLE, kwh DOUBLE, net_kwh DOUBLE, migration_cost_wh DOUBLE,
      horizon_hours DOUBLE, monthly_savings DOUBLE, currency SYMBOL
    ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, plan_id)`,
  ];
}

/** DDL of the workers' stats table; the key (ts, worker_id) makes a re-sent row a no-op. */
export function pipelineStatsTableDdl(config: Config): string {
  return `CREATE TABLE IF NOT EXISTS ${questdbTable(config, PIPELINE_STATS_TABLE)} (
      ts TIMESTAMP, worker_id SYMBOL CAPACITY 1024, interval_s DOUBLE,
      samples_in LONG, samples_stored LONG, dead_lettered LONG, anomalies LONG, store_retries LONG,
      lag_messages LONG, paused LONG, batches LONG, batch_p99_s DOUBLE
    ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, worker_id)`;
}

/** Every dashboard table, unprefixed (for drops and tests). */
export const SERIES_TABLES = [PIPELINE_STATS_TABLE, PLAN_SERIES_TABLES.forecasts, PLAN_SERIES_TABLES.savings] as const;
