import { proposeExecution, recordDryRun, type DryRunReport } from '../../actuators/index.ts';
import { createApiKey } from '../../api/index.ts';
import { FORECAST_MODEL_NAME, liveSnapshot } from '../../cli/planning-cycle.ts';
import { createBus, createIlpSender, createLogger, topicsFor, type Config, type PgPool, type QuestDbClient, questdbTable } from '../../core/index.ts';
import { SyntheticFleet } from '../../ingest/index.ts';
import { forecast as models } from '../../models/index.ts';
import { DEFAULT_POLICY, planFleet, saveInventory, savePlan, type ActionPlan } from '../../scheduler/index.ts';
import type { Sample } from '../../schemas/index.ts';
import { AnomalySink, QuestDbSampleStore, SAMPLE_TABLES, ANOMALY_TABLE, type AnomalyEvent } from '../../streams/index.ts';

const STEP_MS = 300_000;

/** What the stores hold once seeded: the ids the load generator varies over. */
export interface SeededFleet {
  hostIds: string[];
  vmIds: string[];
  planIds: number[];
  latestPlanId: number;
  latestPlanActions: number;
  anomalies: number;
  sampleRows: number;
  /** A viewer key for the load generator (its secret only lives in this process and the child's argv). */
  viewerKey: string;
}

export interface SeedOptions {
  hosts: number;
  vms: number;
  historyHours: number;
  plans: number;
  anomalies: number;
  /** The policy's maxMigrationsPerPlan for the plans (0 = none: the planner's whole first plan for a fresh fleet). */
  maxMigrations: number;
}

/**
 * Fills an isolated database and table prefix with a fleet through the product's own writers:
 * 5-minute samples of every host and VM (the worker's QuestDbSampleStore), anomaly events
 * (the worker's AnomalySink, so also a Kafka topic), one live planning cycle's plan (liveSnapshot
 * → planFleet → savePlan → proposeExecution → saveInventory) preceded by `plans - 1` older plans
 * of the same shape, and a promoted forecast model of the default shape (weights untrained:
 * inference costs the same as a trained model's).
 */
export async function seedFleet(config: Config, pool: PgPool, questdb: QuestDbClient, opts: SeedOptions, say: (line: string) => void): Promise<SeededFleet> {
  const now = Date.now();
  const steps = Math.max(models.DEFAULT_SPEC.lags + 2, Math.round((opts.historyHours * 3_600_000) / STEP_MS));
  const vmsPerHost = Math.max(1, Math.round(opts.vms / opts.hosts));
  const fleet = new SyntheticFleet({ hosts: opts.hosts, vmsPerHost, seed: 7, stepMs: STEP_MS });
  const last = Math.floor(now / STEP_MS) * STEP_MS - STEP_MS;

  // Samples: the same store the streams worker writes with, one fleet round per 5-minute step.
  const store = new QuestDbSampleStore(config);
  const t0 = Date.now();
  let rows = 0;
  try {
    for (let s = 0; s < steps; s++) {
      const ts = last - (steps - 1 - s) * STEP_MS;
      const tick = fleet.tick(s, ts);
      const batch: Sample[] = [...tick.hosts.map((h) => ({ kind: 'host' as const, sample: h })), ...tick.vms.map((v) => ({ kind: 'vm' as const, sample: v }))];
      await store.write(batch);
      rows += batch.length;
      if (s % 12 === 11 || s === steps - 1) say(`  samples: ${s + 1}/${steps} five-minute steps, ${rows.toLocaleString('en-US')} rows (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await store.close();
  }
  await questdb.waitForWalApplied(questdbTable(config, SAMPLE_TABLES.vm), 300_000);
  await questdb.waitForWalApplied(questdbTable(config, SAMPLE_TABLES.host), 300_000);

  // Anomaly events over the last day, through the worker's sink (QuestDB + the anomalies topic).
  const bus = createBus(config, createLogger('bench-api-seed', 'warn'));
  const topic = topicsFor(config).anomalies;
  await bus.ensureTopics([{ topic, partitions: 1 }]);
  const sink = new AnomalySink(await bus.producer(), topic, await createIlpSender(config), config);
  const events: AnomalyEvent[] = [];
  for (let i = 0; i < opts.anomalies; i++) {
    const vm = fleet.vms[(i * 7919) % fleet.vms.length]!;
    const metric = i % 3 === 0 ? 'mem' : 'cpu';
    const value = 0.5 + (i % 5) / 10;
    events.push({ ts: now - Math.floor(((i + 0.5) / opts.anomalies) * 86_400_000), hostId: vm.hostId, vmId: vm.vmId, metric, value, expected: 0.2, score: 4 + (i % 7), explanation: `${metric} at ${value.toFixed(2)} of capacity vs 0.20 expected (bench)` });
  }
  for (let i = 0; i < events.length; i += 1000) await sink.publish(events.slice(i, i + 1000));
  await sink.close();
  await questdb.waitForWalApplied(questdbTable(config, ANOMALY_TABLE), 120_000);
  say(`  anomalies: ${events.length.toLocaleString('en-US')} events over the last 24 h`);

  // Plans: the live cycle's planner on the seeded fleet; older plans repeat its shape, one per 5 minutes.
  const tPlan = Date.now();
  const snapshot = await liveSnapshot(questdb, config, now);
  // A fleet in steady operation gets plans of bounded size: the policy's own cap, stated in the output.
  const plan = planFleet(snapshot, opts.maxMigrations > 0 ? { ...DEFAULT_POLICY, maxMigrationsPerPlan: opts.maxMigrations } : DEFAULT_POLICY);
  say(`  planFleet on ${snapshot.hosts.length.toLocaleString('en-US')} hosts / ${snapshot.vms.length.toLocaleString('en-US')} VMs${opts.maxMigrations > 0 ? ` (maxMigrationsPerPlan ${opts.maxMigrations})` : ''}: ${plan.actions.length} actions, ${plan.hostsBefore} → ${plan.hostsAfter} hosts (${((Date.now() - tPlan) / 1000).toFixed(1)} s)`);
  const planIds: number[] = [];
  for (let i = opts.plans - 1; i >= 0; i--) {
    const p: ActionPlan = { ...plan, createdAt: plan.createdAt - i * STEP_MS };
    const id = await savePlan(pool, p);
    // Each newer plan supersedes the one before it, as the live cycle's do.
    await proposeExecution(pool, id, p.actions, p.actions.map(() => false), 'planner');
    await recordDryRun(pool, id, syntheticDryRun(p));
    planIds.push(id);
    if (planIds.length % 100 === 0) say(`  plans: ${planIds.length}/${opts.plans}`);
  }
  await saveInventory(pool, snapshot);
  say(`  plans: ${planIds.length} stored with their actions, executions and dry runs; host inventory of ${snapshot.hosts.length.toLocaleString('en-US')} hosts`);

  // The serving forecast model: the default shape, so /v1/vms/:id/forecast does the real work.
  const spec = { ...models.DEFAULT_SPEC };
  const weights = models.initMlp(models.featureCount(spec), [...spec.hidden], spec.horizons.length, spec.quantiles.length, spec.lags - 1, 11);
  await models.registerModelVersion(pool, { name: FORECAST_MODEL_NAME, model: { spec, weights, shifts: {} }, status: 'promoted', reason: 'bench:api (untrained weights)', backend: 'cpu', inferenceEngine: 'js', dataSummary: {}, metrics: {} });

  const viewerKey = (await createApiKey(pool, 'bench-api-viewer', 'viewer')).token;
  const latestPlanId = planIds.at(-1)!;
  return {
    hostIds: fleet.hosts.map((h) => h.hostId),
    vmIds: fleet.vms.map((v) => v.vmId),
    planIds, latestPlanId, latestPlanActions: plan.actions.length,
    anomalies: events.length, sampleRows: rows, viewerKey,
  };
}

/**
 * A dry-run record per action, so /v1/recommendations answers with the size it has live. Not
 * checked against libvirt (2,000 simulated hypervisors are not what this bench measures); each
 * record says so.
 */
function syntheticDryRun(plan: ActionPlan): DryRunReport {
  const results = plan.actions.map((action, index) => ({
    index, action, status: 'ok' as const,
    checks: ['bench:api synthetic dry run: not checked against a hypervisor'],
    command: action.kind === 'migrate' ? `virsh -c qemu+ssh://${action.fromHost}/system migrate --live --persistent --undefinesource ${action.vmId} qemu+ssh://${action.toHost}/system` : `power off ${action.hostId}`,
  }));
  return { planCreatedAt: plan.createdAt, results, ok: results.length, blocked: 0 };
}
