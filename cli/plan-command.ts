import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createPgPool, describeError, migrate, NovaError, questdbPgUrl, QuestDbClient, startMetricsServer, type Config, type Logger, type MetricsServer } from '../core/index.ts';
import { DEFAULT_POLICY, parsePolicy, parseSnapshot, planFleet, planToJson, snapshotToJson, type ConsolidationPlan, type ConsolidationPolicy } from '../scheduler/index.ts';
import { ALL_MIGRATIONS } from './migrations.ts';
import { say } from './output.ts';
import { PlannerMetrics } from './planner-metrics.ts';
import { runPlanningCycle } from './planning-cycle.ts';
import { untilSignal } from './run-until-signal.ts';

export const PLAN_USAGE = `usage: ./novacron plan [--snapshot FILE] [--out PLAN.json] [--save-snapshot FILE] [--policy FILE] [--every S]
  (no --snapshot)    one live planning cycle over the samples in QuestDB: forecast, plan, store in
                     PostgreSQL, dry-run against libvirt
  --every S          the planner as a service: a live cycle every S seconds until Ctrl-C (a failed
                     cycle is logged and counted, the next one runs); /metrics and /healthz on
                     NOVACRON_PLANNER_METRICS_HOST:NOVACRON_PLANNER_METRICS_PORT (default 9466, 0 = off)
  --snapshot FILE    plan from a saved fleet snapshot instead, with no server running (replays a
                     decision: the plan is byte-identical to the one made when the snapshot was saved)
  --out FILE         write the plan as JSON (its actions array, reasons, savings, risk); '-' = stdout
  --save-snapshot F  live cycle only: also save the snapshot it planned from, for --snapshot later
  --policy FILE      a consolidation policy as JSON (default: the product's, as the live cycle runs)`;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new NovaError('CLI_FILE_UNREADABLE', `cannot read ${what} ${path}: ${(cause as Error).message}`);
  }
}

function writeText(path: string, text: string): void {
  if (path === '-') process.stdout.write(text);
  else writeFileSync(path, text);
}

function summary(plan: ConsolidationPlan): string {
  const moves = plan.actions.filter((a) => a.kind === 'migrate').length;
  const cost = plan.cost?.summary;
  const money = cost
    ? `; cost: ${cost.rightsizing.vcpusFreed} vCPUs could be freed by rightsizing, ${cost.burstOut.vms} burst-out, ${cost.repatriation.vms} repatriation${cost.currency ? `, ${cost.monthlySavings.total.toFixed(2)} ${cost.currency}/month` : ''}`
    : '';
  return `hosts ${plan.hostsBefore} → ${plan.hostsAfter}, ${moves} migrations in ${plan.waves.length} wave(s), ${plan.actions.length - moves} power-offs; unplaced ${plan.unplaced.length}, still overloaded ${plan.risk.hostsOverloaded.length}${money}`;
}

/** `novacron plan`: a live planning cycle, or a replan of a saved snapshot with no servers. */
export async function planCommand(argv: string[], config: Config, log: Logger): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { snapshot: { type: 'string' }, out: { type: 'string' }, 'save-snapshot': { type: 'string' }, policy: { type: 'string' }, every: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (cause) {
    throw new NovaError('CLI_USAGE', `${(cause as Error).message}\n${PLAN_USAGE}`);
  }
  if (values.help) return say(PLAN_USAGE), 0;
  const policy: ConsolidationPolicy = values.policy ? parsePolicy(readText(values.policy, 'policy file'), values.policy) : DEFAULT_POLICY;
  // Plan JSON on stdout leaves the human summary to stderr.
  const tell = (line: string) => (values.out === '-' ? process.stderr.write(`${line}\n`) : say(line));

  if (values.every !== undefined) {
    const seconds = Number(values.every);
    if (!Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) throw new NovaError('CLI_USAGE', `--every must be seconds between 1 and 86400, got "${values.every}"\n${PLAN_USAGE}`);
    if (values.snapshot !== undefined || values['save-snapshot'] !== undefined) throw new NovaError('CLI_USAGE', `--every runs live cycles; --snapshot and --save-snapshot are for one cycle\n${PLAN_USAGE}`);
    return planEvery(seconds, { config, log, policy, tell, out: values.out });
  }

  if (values.snapshot !== undefined) {
    if (values['save-snapshot'] !== undefined) throw new NovaError('CLI_USAGE', `--save-snapshot saves a live cycle's snapshot; with --snapshot there is nothing new to save\n${PLAN_USAGE}`);
    const snapshot = parseSnapshot(readText(values.snapshot, 'snapshot'), values.snapshot);
    const plan = planFleet(snapshot, policy);
    if (values.out !== undefined) writeText(values.out, planToJson(plan));
    tell(`plan from ${values.snapshot} (${snapshot.hosts.length} hosts, ${snapshot.vms.length} VMs, taken at ${new Date(snapshot.takenAt).toISOString()}): ${summary(plan)}${values.out && values.out !== '-' ? `; written to ${values.out}` : ''}`);
    return 0;
  }

  const pool = createPgPool(config.databaseUrl);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  try {
    await migrate(pool, ALL_MIGRATIONS);
    const { planId, plan, snapshot, dryRun } = await runPlanningCycle({ config, questdb, pool, log, policy });
    if (values['save-snapshot'] !== undefined) writeText(values['save-snapshot'], snapshotToJson(snapshot));
    if (values.out !== undefined) writeText(values.out, planToJson(plan));
    tell(`plan #${planId}: ${summary(plan)}; dry run ${dryRun.ok} ok, ${dryRun.blocked} blocked`);
    for (const r of dryRun.results) tell(`  ${r.status.padEnd(7)} ${r.action.reason}${r.reason ? ` — blocked: ${r.reason}` : ''}`);
    return 0;
  } finally {
    await Promise.all([pool.end(), questdb.close()]);
  }
}

/**
 * The planner as a service: a live cycle every `seconds` (measured start to start) until SIGINT or
 * SIGTERM. A cycle that fails (QuestDB away, a bad snapshot) is counted and logged, never fatal:
 * the next cycle is the retry.
 */
async function planEvery(seconds: number, deps: { config: Config; log: Logger; policy: ConsolidationPolicy; tell: (line: string) => void; out: string | undefined }): Promise<number> {
  const { config, log, policy, tell } = deps;
  const pool = createPgPool(config.databaseUrl);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  const metrics = new PlannerMetrics(pool, { processMetrics: true });
  const abort = new AbortController();
  void untilSignal().then(() => abort.abort());
  let server: MetricsServer | undefined;
  let lastOkAt: string | undefined;
  let failedInARow = 0;
  try {
    await migrate(pool, ALL_MIGRATIONS);
    const { metricsHost: host, metricsPort: port } = config.planner;
    // Alive is healthy: a restart cannot fix QuestDB being away; the failure count shows it.
    if (port > 0) server = await startMetricsServer(metrics.registry, { host, port, portSetting: 'NOVACRON_PLANNER_METRICS_PORT', health: () => ({ ok: true, lastCycleOkAt: lastOkAt ?? null, cyclesFailedInARow: failedInARow }) });
    tell(`plan: a live cycle every ${seconds} s (Ctrl-C to stop); ${server ? `metrics at ${server.url}` : '/metrics is off (NOVACRON_PLANNER_METRICS_PORT=0)'}`);
    while (!abort.signal.aborted) {
      const t0 = performance.now();
      try {
        const result = await runPlanningCycle({ config, questdb, pool, log, policy });
        metrics.cycleDone(result, (performance.now() - t0) / 1000);
        lastOkAt = new Date().toISOString();
        failedInARow = 0;
        if (deps.out !== undefined) writeText(deps.out, planToJson(result.plan));
        tell(`plan #${result.planId}: ${summary(result.plan)}; dry run ${result.dryRun.ok} ok, ${result.dryRun.blocked} blocked; execution ${result.execution}`);
      } catch (err) {
        metrics.cycleFailed(err, (performance.now() - t0) / 1000);
        failedInARow++;
        log.error({ err: describeError(err) }, 'planning cycle failed; the next cycle retries');
        tell(`plan: cycle failed (${describeError(err)}); next in ${seconds} s`);
      }
      const wait = Math.max(0, seconds * 1000 - (performance.now() - t0));
      await sleep(wait, undefined, { signal: abort.signal }).catch(() => undefined);
    }
    tell('plan: stopped');
    return 0;
  } finally {
    await server?.close();
    await Promise.all([pool.end(), questdb.close()]);
  }
}
