import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { dryRunPlan, executionEvents, ExecutorMetrics, listExecutions, loadExecution, transitionPlan, type ActionOutcome, type PlanState } from '../actuators/index.ts';
import { createPgPool, migrate, NovaError, questdbPgUrl, QuestDbClient, startMetricsServer, type Config, type Logger, type MetricsServer } from '../core/index.ts';
import { loadPlan } from '../scheduler/index.ts';
import { executorFor, questdbWorld } from './execution.ts';
import { ALL_MIGRATIONS } from './migrations.ts';
import { say } from './output.ts';
import { hypervisorDirectory } from './planning-cycle.ts';
import { untilSignal } from './run-until-signal.ts';

export const EXECUTE_USAGE = `usage: ./novacron execute [--once] [--plan N] [--dry-run N] [--no-telemetry]
  (default)     the executor as a service: finish what a crash left running, then carry out approved
                plans as they come, wave by wave, under the limits (docs/execution.md); Ctrl-C stops
                after the running steps end
  --once        the same, but exit when nothing approved is left
  --plan N      run only plan N (it must be approved)
  --dry-run N   check plan N's actions against the live hypervisors, change nothing
  --no-telemetry  do not read QuestDB (no forecast-band checks): for hosts without telemetry
As a service it serves /metrics and /healthz on NOVACRON_EXECUTOR_METRICS_HOST:NOVACRON_EXECUTOR_METRICS_PORT
(default 9467, 0 = off).`;

export const PLANS_USAGE = `usage: ./novacron plans list [--state S] [--limit N]
       ./novacron plans show N
       ./novacron plans approve N [--reason TEXT]
       ./novacron plans reject N --reason TEXT`;

/** Runs a parseArgs call, turning its complaints into a usage error. */
function parsed<T>(usage: string, parse: () => T): T {
  try {
    return parse();
  } catch (cause) {
    throw new NovaError('CLI_USAGE', `${(cause as Error).message}\n${usage}`);
  }
}

function planIdArg(value: string | undefined, usage: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1) throw new NovaError('CLI_USAGE', `a plan id (a positive integer) is needed, got ${JSON.stringify(value)}\n${usage}`);
  return n;
}

const outcomeLine = (planId: number, o: ActionOutcome) =>
  `  plan ${planId} step ${o.seq}: ${o.state.padEnd(11)} ${o.reason} (${(o.totalMs / 1000).toFixed(2)} s, of which hypervisor ${(o.hypervisorMs / 1000).toFixed(2)} s)`;

/** `novacron execute`: the executor, as a service or once. */
export async function executeCommand(argv: string[], config: Config, log: Logger): Promise<number> {
  const { values } = parsed(EXECUTE_USAGE, () =>
    parseArgs({ args: argv, options: { once: { type: 'boolean' }, plan: { type: 'string' }, 'dry-run': { type: 'string' }, 'no-telemetry': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }),
  );
  if (values.help) return say(EXECUTE_USAGE), 0;
  const pool = createPgPool(config.databaseUrl);
  const questdb = values['no-telemetry'] ? undefined : new QuestDbClient(questdbPgUrl(config));
  const directory = hypervisorDirectory(config);
  let server: MetricsServer | undefined;
  try {
    await migrate(pool, ALL_MIGRATIONS);
    if (values['dry-run'] !== undefined) {
      const id = planIdArg(values['dry-run'], EXECUTE_USAGE);
      const plan = await loadPlan(pool, id);
      if (!plan) throw new NovaError('EXECUTION_PLAN_NOT_FOUND', `no plan ${id}`);
      const report = await dryRunPlan(plan, directory);
      say(`dry run of plan ${id}: ${report.ok} ok, ${report.blocked} blocked`);
      for (const r of report.results) say(`  ${r.status.padEnd(7)} ${r.command}${r.reason ? ` — blocked: ${r.reason}` : ''}`);
      return report.blocked > 0 ? 1 : 0;
    }
    const abort = new AbortController();
    const service = values.plan === undefined && !values.once;
    const metrics = new ExecutorMetrics(pool, { processMetrics: service });
    const executor = executorFor({ config, pool, directory, log, signal: abort.signal, ...(questdb ? { world: questdbWorld(questdb, config) } : {}), onAction: (id, o) => (metrics.observe(o), say(outcomeLine(id, o))) });
    // Only the service listens: --once and --plan end before anyone would scrape them.
    const { metricsHost: host, metricsPort: port } = config.executor;
    // Listen before recovering: a taken port fails the command before it touches a plan.
    if (service && port > 0) server = await startMetricsServer(metrics.registry, { host, port, portSetting: 'NOVACRON_EXECUTOR_METRICS_PORT' });
    void untilSignal().then(() => {
      say('execute: stopping after the running steps end (Ctrl-C again to force)');
      abort.abort();
    });
    const recovered = await executor.recover();
    if (recovered > 0) say(`execute: resolved ${recovered} step(s) a previous executor left running`);
    if (values.plan !== undefined) {
      const id = planIdArg(values.plan, EXECUTE_USAGE);
      const state = await executor.runPlan(id);
      say(`execute: plan ${id} is ${state ?? 'held by another executor'}`);
      return state === 'succeeded' ? 0 : 1;
    }
    if (values.once) {
      const ran = await executor.runPending();
      say(`execute: ran ${ran} plan(s)`);
      return 0;
    }
    say(`execute: running approved plans as they come (Ctrl-C to stop); ${server ? `metrics at ${server.url}` : '/metrics is off (NOVACRON_EXECUTOR_METRICS_PORT=0)'}`);
    await executor.serve();
    return 0;
  } finally {
    await server?.close();
    await Promise.all([pool.end(), questdb?.close()]);
  }
}

/** `novacron plans`: list, show, approve, reject plans (what the API's plan routes do, for a shell). */
export async function plansCommand(argv: string[], config: Config, _log: Logger): Promise<number> {
  const { values, positionals } = parsed(PLANS_USAGE, () =>
    parseArgs({ args: argv, options: { state: { type: 'string' }, limit: { type: 'string' }, reason: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true }),
  );
  if (values.help || positionals.length === 0) return say(PLANS_USAGE), values.help ? 0 : 2;
  const [verb, id] = positionals;
  const actor = `cli:${userInfo().username}`;
  const pool = createPgPool(config.databaseUrl);
  try {
    await migrate(pool, ALL_MIGRATIONS);
    switch (verb) {
      case 'list': {
        const rows = await listExecutions(pool, { ...(values.state ? { states: [values.state as PlanState] } : {}), limit: values.limit ? Number(values.limit) : 20 });
        for (const r of rows) say(`plan ${String(r.planId).padStart(5)}  ${r.state.padEnd(11)} ${r.updatedAt.toISOString()}  ${r.reason}`);
        return 0;
      }
      case 'show': {
        const n = planIdArg(id, PLANS_USAGE);
        const exec = await loadExecution(pool, n);
        if (!exec) throw new NovaError('EXECUTION_PLAN_NOT_FOUND', `plan ${n} is not registered for execution`);
        say(`plan ${n}: ${exec.state} — ${exec.reason}`);
        for (const a of exec.actions) say(`  step ${a.seq} wave ${a.wave}: ${a.state.padEnd(11)} ${a.kind === 'migrate' ? `${a.vmId} ${a.fromHost} → ${a.toHost}` : `power off ${a.hostId}`}${a.error ? ` — ${a.errorCode}: ${a.error}` : ''}`);
        for (const e of await executionEvents(pool, n)) say(`    ${e.at.toISOString()} ${e.seq === null ? 'plan' : `step ${e.seq}`} ${e.fromState ?? '∅'} → ${e.toState} by ${e.actor}: ${e.reason}`);
        return 0;
      }
      case 'approve':
      case 'reject': {
        const n = planIdArg(id, PLANS_USAGE);
        if (verb === 'reject' && !values.reason) throw new NovaError('CLI_USAGE', `a rejection needs --reason\n${PLANS_USAGE}`);
        await transitionPlan(pool, n, verb === 'approve' ? 'approved' : 'rejected', actor, values.reason ?? 'approved from the command line', ['proposed', ...(verb === 'reject' ? (['approved'] as const) : [])]);
        say(`plan ${n} ${verb === 'approve' ? 'approved: an executor (./novacron execute) carries it out' : 'rejected'}`);
        return 0;
      }
      default:
        throw new NovaError('CLI_USAGE', `unknown plans command "${verb}"\n${PLANS_USAGE}`);
    }
  } finally {
    await pool.end();
  }
}
