import type { Config, PgPool, QuestDbClient } from '../../core/index.ts';
import { loadVmHistory, type VmHistory } from '../history.ts';
import { trainAndEvaluate, type PipelineOptions, type PipelineResult } from './pipeline.ts';
import { registerModelVersion, versionOf, type ModelVersionSummary } from './registry.ts';
import { STEP_SEC, toGrid, type RegularSeries } from './series.ts';

/** Groups of the live fleet's series: calibration and serving look shifts up under these. */
export const FLEET_GROUPS = Object.freeze({ cpu: 'fleet/cpu', mem: 'fleet/mem' });

/**
 * VM histories (as loadVmHistory returns them) as two series per VM on the 5-minute grid:
 * CPU used (cores) and memory used (bytes), averaged per bin, timestamps absolute.
 */
export function historiesToSeries(histories: readonly VmHistory[]): RegularSeries[] {
  const out: RegularSeries[] = [];
  for (const h of histories) {
    const secs = h.points.map((p) => p.ts / 1000);
    const cpu = toGrid(secs, h.points.map((p) => p.cpuCores), STEP_SEC);
    const mem = toGrid(secs, h.points.map((p) => p.memBytes), STEP_SEC);
    const entity = `fleet/${h.vmId}`;
    out.push({ id: `fleet/${h.vmId}/cpu`, entity, group: FLEET_GROUPS.cpu, startSec: cpu.startSec, absoluteTime: true, values: cpu.values });
    out.push({ id: `fleet/${h.vmId}/mem`, entity, group: FLEET_GROUPS.mem, startSec: mem.startSec, absoluteTime: true, values: mem.values });
  }
  return out;
}

/** Options of trainFromQuestDb. */
export interface FleetTrainingOptions extends PipelineOptions {
  /** Registry name of the model. */
  name?: string;
  /** History read per VM; two weeks by default (seasonal inputs need a day, Holt-Winters two). */
  lookbackMinutes?: number;
  until?: number;
}

/**
 * Trains on the fleet history in QuestDB, evaluates against the baselines in the same run and
 * registers the version in PostgreSQL as promoted or rejected by the promotion rule.
 */
export async function trainFromQuestDb(questdb: QuestDbClient, config: Config, pool: PgPool, opts: FleetTrainingOptions = {}): Promise<{ result: PipelineResult; version: ModelVersionSummary }> {
  const histories = await loadVmHistory(questdb, config, { lookbackMinutes: opts.lookbackMinutes ?? 14 * 1440, until: opts.until });
  const series = historiesToSeries(histories);
  const result = await trainAndEvaluate(series, opts);
  const version = await registerModelVersion(pool, versionOf(opts.name ?? 'vm-demand', result, { source: 'questdb', vms: histories.length }, { shifts: result.model.shifts }));
  return { result, version };
}
