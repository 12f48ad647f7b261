import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createPgPool, migrate, NovaError, questdbPgUrl, QuestDbClient, type Config, type Logger } from '../core/index.ts';
import { DEFAULT_POLICY, parsePolicy, parseSnapshot, planFleet, planToJson, snapshotToJson, type ConsolidationPlan, type ConsolidationPolicy } from '../scheduler/index.ts';
import { ALL_MIGRATIONS } from './migrations.ts';
import { say } from './output.ts';
import { runPlanningCycle } from './planning-cycle.ts';

export const PLAN_USAGE = `usage: ./novacron plan [--snapshot FILE] [--out PLAN.json] [--save-snapshot FILE] [--policy FILE]
  (no --snapshot)    one live planning cycle over the samples in QuestDB: forecast, plan, store in
                     PostgreSQL, dry-run against libvirt
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
    ({ values } = parseArgs({ args: argv, options: { snapshot: { type: 'string' }, out: { type: 'string' }, 'save-snapshot': { type: 'string' }, policy: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (cause) {
    throw new NovaError('CLI_USAGE', `${(cause as Error).message}\n${PLAN_USAGE}`);
  }
  if (values.help) return say(PLAN_USAGE), 0;
  const policy: ConsolidationPolicy = values.policy ? parsePolicy(readText(values.policy, 'policy file'), values.policy) : DEFAULT_POLICY;
  // Plan JSON on stdout leaves the human summary to stderr.
  const tell = (line: string) => (values.out === '-' ? process.stderr.write(`${line}\n`) : say(line));

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
