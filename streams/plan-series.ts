import { createIlpSender, NovaError, questdbTable, type Config, type QuestDbClient } from '../core/index.ts';
import { PLAN_SERIES_TABLES, planSeriesTableDdl } from './series-tables.ts';

/** One VM's next-interval CPU forecast (cores), as the planner used it. */
export interface VmForecastRow {
  /** End of the interval forecast for, epoch ms. */
  ts: number;
  /** When the forecast was made (the snapshot's time), epoch ms. */
  madeAt: number;
  vmId: string;
  hostId: string;
  planId: number;
  /** CPU the VM used at madeAt (its latest sample). */
  cpuNow: number;
  p50: number;
  p90: number;
  p99: number;
  /** Its vCPUs, when known: the ceiling of the band. */
  vcpus?: number;
}

/** One plan's expected savings. */
export interface PlanSavingsRow {
  /** The plan's time (its snapshot's), epoch ms. */
  ts: number;
  planId: number;
  hostsBefore: number;
  hostsAfter: number;
  hostsSaved: number;
  migrations: number;
  powerOffs: number;
  watts: number;
  kWh: number;
  netKWh: number;
  migrationCostWh: number;
  horizonHours: number;
  /** Money a month from the plan's cost section, in `currency`; absent without a catalog. */
  monthlySavings?: number;
  currency?: string;
}

/**
 * Writes a planning cycle's forecasts and savings to QuestDB (vm_forecasts, plan_savings) for
 * the dashboards. Through the ILP/HTTP Sender, as the anomaly sink does: a cycle writes one row
 * per VM every few minutes, far below the rates for which the sample store builds its own ILP
 * text. The tables are created first with their DEDUP keys (ILP would create them without), so
 * writing the same cycle again replaces its rows.
 */
export async function writePlanSeries(config: Config, questdb: QuestDbClient, rows: { forecasts: readonly VmForecastRow[]; savings: PlanSavingsRow }): Promise<void> {
  for (const ddl of planSeriesTableDdl(config)) await questdb.query(ddl);
  const forecasts = questdbTable(config, PLAN_SERIES_TABLES.forecasts);
  const savings = questdbTable(config, PLAN_SERIES_TABLES.savings);
  const sender = await createIlpSender(config);
  try {
    for (const f of rows.forecasts) {
      sender.table(forecasts).symbol('host_id', f.hostId).symbol('vm_id', f.vmId)
        .timestampColumn('made_at', f.madeAt, 'ms').intColumn('plan_id', f.planId)
        .floatColumn('cpu_now', f.cpuNow).floatColumn('cpu_p50', f.p50).floatColumn('cpu_p90', f.p90).floatColumn('cpu_p99', f.p99);
      if (f.vcpus !== undefined && Number.isFinite(f.vcpus)) sender.floatColumn('vcpus', f.vcpus);
      await sender.at(f.ts, 'ms');
    }
    // One request per table: QuestDB commits an ILP/HTTP request atomically only within one table.
    await sender.flush();
    const s = rows.savings;
    sender.table(savings);
    if (s.currency) sender.symbol('currency', s.currency);
    sender.intColumn('plan_id', s.planId).intColumn('hosts_before', s.hostsBefore).intColumn('hosts_after', s.hostsAfter).intColumn('hosts_saved', s.hostsSaved)
      .intColumn('migrations', s.migrations).intColumn('power_offs', s.powerOffs)
      .floatColumn('watts', s.watts).floatColumn('kwh', s.kWh).floatColumn('net_kwh', s.netKWh).floatColumn('migration_cost_wh', s.migrationCostWh)
      .floatColumn('horizon_hours', s.horizonHours);
    if (s.monthlySavings !== undefined) sender.floatColumn('monthly_savings', s.monthlySavings);
    await sender.at(s.ts, 'ms');
    await sender.flush();
  } catch (cause) {
    throw new NovaError('PLAN_SERIES_WRITE_FAILED', `could not write plan ${rows.savings.planId}'s forecasts and savings to QuestDB (${forecasts}, ${savings}): ${cause instanceof Error ? cause.message : String(cause)}; the plan itself is stored, only the dashboards miss this cycle`, { retriable: true, cause });
  } finally {
    await sender.close().catch(() => undefined);
  }
}
