import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_MIGRATIONS } from './migrations.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApi, createApiKey, revokeApiKey } from '../api/index.ts';
import { createBus, createPgPool, loadConfig, migrate, questdbPgUrl, questdbTable, QuestDbClient, topicsFor, topicSpecs, type Config, type Logger } from '../core/index.ts';
import { runFleet, SamplePublisher } from '../ingest/index.ts';
import { stackUp } from '../stack/index.ts';
import { ANOMALY_TABLE, createSampleWorker, dropSampleTables, ensureSampleTables, SAMPLE_TABLES, type SampleWorker } from '../streams/index.ts';
import { apiDeps, apiOptionsFrom } from './api-deps.ts';
import { fleetFor, FLEET_USAGE, parseFleetOptions, stepsFor } from './fleet-options.ts';
import { formatStatus, say } from './output.ts';
import { runPlanningCycle } from './planning-cycle.ts';
import { executeOnTestHosts } from './demo-execution.ts';

const USAGE = `usage: ./novacron demo [options]
${FLEET_USAGE}
  --serve-seconds S              keep the API up this long after the summary (default 60, 0 = exit)
  --clean                        remove the demo's topics and tables when it ends (by default they stay
                                 for you to look at, until the next demo replaces them)

The demo writes to its own topics (novacron-demo-<run>.*) and tables (demo_*); plans go to the
PostgreSQL database. At the end it prints where to look: the API and its /docs, the plan review
page, the QuestDB console with a query to try, Grafana, and the metrics endpoints.`;

/** Where the demo notes its last run's topics (in NOVACRON_HOME): the next run removes them first. */
const LAST_RUN_FILE = 'demo-last-run.json';

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * `novacron demo`: the whole flow on the local stack, bounded in time, with progress lines:
 * stack up → simulate (history replayed fast) → Kafka → streams → QuestDB → forecast →
 * plan → dry run on libvirt's test driver → API → a plan approved and executed on two real
 * libvirtd test hosts, then a summary.
 */
export async function demoCommand(argv: string[], baseConfig: Config, log: Logger): Promise<number> {
  // --clean is the one flag that takes no value; the fleet options parser takes only numbers.
  const clean = argv.includes('--clean');
  const opts = parseFleetOptions(argv.filter((a) => a !== '--clean'), USAGE, { 'serve-seconds': '60' });
  const serveSeconds = opts.extra['serve-seconds'];
  if (opts.help) {
    say(USAGE);
    return 0;
  }
  // The demo keeps its data apart: its own tables, and topics unique to this run.
  const runId = randomBytes(3).toString('hex');
  const config = loadConfig(process.env, {
    NOVACRON_TOPIC_PREFIX: process.env.NOVACRON_TOPIC_PREFIX ?? `novacron-demo-${runId}`,
    NOVACRON_TABLE_PREFIX: process.env.NOVACRON_TABLE_PREFIX ?? 'demo_',
  });
  const topics = topicsFor(config);
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  say('[1/7] stack: PostgreSQL, Kafka, QuestDB');
  for (const s of await stackUp(config, log, (l) => say(`      ${l}`))) say(formatStatus(s));

  const fleet = fleetFor(opts, config);
  const bus = createBus(config, log);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  const pool = createPgPool(config.databaseUrl);
  const groupId = `${config.kafka.topicPrefix}-streams`;
  let worker: SampleWorker | undefined;
  let api: Awaited<ReturnType<typeof buildApi>> | undefined;
  let demoKey: Awaited<ReturnType<typeof createApiKey>> | undefined;
  try {
    say(`[2/7] topics ${topics.vmSamples}, ${topics.hostSamples}, ${topics.deadLetter}; tables ${questdbTable(config, SAMPLE_TABLES.vm)}, ${questdbTable(config, SAMPLE_TABLES.host)} (recreated)`);
    // The previous demo's topics stay for looking at until now: one demo's worth at a time, not one per run.
    const previous = lastRunTopics(config);
    if (previous.length > 0 && previous[0] !== topics.hostSamples) await bus.deleteTopics(previous).catch(() => undefined);
    await bus.ensureTopics(topicSpecs(config));
    writeFileSync(join(config.homeDir, LAST_RUN_FILE), `${JSON.stringify({ topics: Object.values(topics) })}\n`);
    await dropSampleTables(config, questdb);
    await ensureSampleTables(config, questdb);
    await migrate(pool, ALL_MIGRATIONS);

    worker = await createSampleWorker(config, bus, log, { groupId });
    await worker.start();
    // The API takes keys only (no default one): the demo makes a viewer key for its run and revokes it at the end.
    demoKey = await createApiKey(pool, `demo-viewer-${runId}`, 'viewer');
    api = await buildApi(apiDeps(pool, questdb, bus, log, config.cloudCatalogPath, apiOptionsFrom(config)));
    await api.listen({ host: config.api.host, port: config.api.port });

    const steps = stepsFor(opts, fleet);
    const lastTs = Math.floor(Date.now() / fleet.stepMs) * fleet.stepMs;
    const startTs = lastTs - (steps - 1) * fleet.stepMs;
    say(`[3/7] simulate: ${opts.source} fleet, ${fleet.hosts.length} hosts, ${fleet.vms.length} VMs, ${steps} five-minute steps ending now (replayed as fast as Kafka takes them)`);
    let lastReport = 0;
    const producer = await bus.producer();
    const produced = await runFleet(fleet, new SamplePublisher(producer, topics), {
      startTs, steps, paceMs: 0, malformedEvery: opts.malformedEvery,
      onProgress: (step, s) => {
        if (Date.now() - lastReport < 2000 && step < steps) return;
        lastReport = Date.now();
        say(`      ${elapsed()} step ${step}/${steps}: ${fmt(s.vmSamples)} VM + ${fmt(s.hostSamples)} host samples, ${fmt(s.malformed)} malformed sent; streams stored ${fmt(worker!.stats.stored)}`);
      },
    }).finally(() => producer.close());
    const total = produced.vmSamples + produced.hostSamples + produced.malformed;

    say(`[4/7] streams: waiting for the consumer group to catch up (${fmt(total)} messages)`);
    for (;;) {
      const handled = worker.stats.stored + worker.stats.deadLettered;
      if (handled >= total) break;
      say(`      ${elapsed()} stored ${fmt(worker.stats.stored)}, dead-lettered ${fmt(worker.stats.deadLettered)}, ${fmt(total - handled)} to go`);
      await sleep(2000);
    }
    const vmTable = questdbTable(config, SAMPLE_TABLES.vm);
    const hostTable = questdbTable(config, SAMPLE_TABLES.host);
    await questdb.waitForWalApplied(vmTable, 60_000);
    await questdb.waitForWalApplied(hostTable, 60_000);
    const count = async (t: string) => Number((await questdb.query<{ n: string }>(`select count() n from ${t}`))[0]?.n ?? 0);
    const [vmRows, hostRows] = [await count(vmTable), await count(hostTable)];

    // First on the real test hosts, so the simulated fleet's plan (next) is the latest the API serves.
    say('[5/7] execute: a plan approved and carried out on two real libvirtd test hosts (QEMU guests, live migration)');
    const execution = await executeOnTestHosts(config, pool, log, say);

    say('[6/7] forecast → consolidation plan → dry run against libvirt (test driver)');
    const cycle = await runPlanningCycle({ config, questdb, pool, log, mirrorTestNodes: true });
    const histories = cycle.snapshot.vms.map((v) => v.cpuHistory?.length ?? 0);
    const migrations = cycle.plan.actions.filter((a) => a.kind === 'migrate').length;
    const powerOffs = cycle.plan.actions.length - migrations;
    const apiUrl = `http://${config.api.host}:${config.api.port}`;

    say(`[7/7] done in ${elapsed()}`);
    say('');
    say('summary');
    say(`  samples produced : ${fmt(produced.vmSamples)} VM + ${fmt(produced.hostSamples)} host samples, ${fmt(produced.malformed)} malformed`);
    say(`  samples ingested : ${fmt(vmRows + hostRows)} rows in QuestDB (${vmTable}: ${fmt(vmRows)}, ${hostTable}: ${fmt(hostRows)})`);
    say(`  dead-lettered    : ${fmt(worker.stats.deadLettered)} on ${topics.deadLetter} (${Object.entries(worker.stats.byCode).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'})`);
    say(`  anomaly events   : ${fmt(worker.stats.anomalies)} on ${topics.anomalies} and in ${questdbTable(config, ANOMALY_TABLE)} (detector warms up for ${config.anomaly.probationSamples} samples per series)`);
    say(`  forecasts        : ${histories.length} VMs, next-interval CPU (level and spread) from up to ${Math.max(0, ...histories)} five-minute steps each, by the planner's own forecaster`);
    say(`  ${`plan #${cycle.planId}`.padEnd(17)}: hosts ${cycle.plan.hostsBefore} → ${cycle.plan.hostsAfter} (${cycle.plan.hostsSaved} saved), ${migrations} migrations in ${cycle.plan.waves?.length ?? 0} wave(s), ${powerOffs} power-offs${cycle.plan.unplaced.length ? `, ${cycle.plan.unplaced.length} VMs fit nowhere` : ''}`);
    const savings = cycle.plan.expectedSavings;
    if (savings) say(`  expected savings : ${fmt(Math.round(savings.watts))} W, ${savings.netKWh.toFixed(2)} kWh net over ${savings.horizonHours} h after ${savings.migrationCostWh.toFixed(1)} Wh of migration cost; risk: peak host CPU ${cycle.plan.risk?.peakCpu ? `${Math.round(100 * cycle.plan.risk.peakCpu.utilization)}% on ${cycle.plan.risk.peakCpu.hostId} (target ${Math.round(100 * cycle.plan.risk.peakCpu.target)}%)` : 'n/a'}`);
    say(`  dry run (libvirt): ${cycle.dryRun.ok} actions ok, ${cycle.dryRun.blocked} blocked`);
    for (const line of execution) say(line);
    say('');
    say('where to look');
    say(`  API              : ${apiUrl}/v1/recommendations  ${apiUrl}/v1/plans  ${apiUrl}/v1/hosts (health ${apiUrl}/healthz)`);
    say(`  API docs         : ${apiUrl}/docs (OpenAPI: ${apiUrl}/openapi.json)`);
    say(`  plan review page : ${apiUrl}/review  (sign in with an API key; plan #${cycle.planId} is the latest)`);
    say(`  API key (viewer) : ${demoKey.token}  — revoked when the demo ends; try: curl -H "Authorization: Bearer $KEY" ${apiUrl}/v1/plans`);
    say(`                     your own keys: ./novacron keys create --name NAME --role viewer|operator|admin`);
    say(`  QuestDB console  : http://${config.questdb.host}:${config.questdb.httpPort}  try: select vm_id, avg(cpu_used_cores) from ${vmTable} sample by 1h`);
    say(`                     or: select * from ${hostTable} latest on ts partition by host_id`);
    say(`  Grafana          : dashboards over these tables in grafana/ (README.md, "Grafana"); set a dashboard's table prefix to ${config.questdb.tablePrefix || '(empty)'}`);
    say(`  metrics          : ${apiUrl}/metrics; the long-running commands serve their own: agent :${config.agent.metricsPort}, worker :${config.worker.metricsPort}, planner (plan --every) :${config.planner.metricsPort}, executor :${config.executor.metricsPort} (docs/operations.md)`);
    if (clean) say(`  after the demo   : --clean removes its topics ${config.kafka.topicPrefix}.* and tables ${config.questdb.tablePrefix}* (plans stay in PostgreSQL)`);
    else {
      say(`  after the demo   : its data stays (topics ${config.kafka.topicPrefix}.*, tables ${config.questdb.tablePrefix}*) until the next demo or --clean;`);
      say(`                     to browse it: NOVACRON_TABLE_PREFIX=${config.questdb.tablePrefix} ./novacron serve, and a key from ./novacron keys create`);
    }
    say(`  stop the stack   : ./novacron stack down (the data stays on disk under ${config.homeDir})`);
    if (serveSeconds > 0) {
      say(`\nAPI stays up for ${serveSeconds} s (Ctrl-C to end sooner).`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, serveSeconds * 1000);
        process.once('SIGINT', () => { clearTimeout(t); resolve(); });
      });
    }
    return 0;
  } finally {
    if (demoKey) await revokeApiKey(pool, demoKey.key.id).catch(() => undefined);
    await api?.close().catch(() => undefined);
    await worker?.stop().catch(() => undefined);
    if (clean) {
      await bus.deleteTopics(Object.values(topics)).catch(() => undefined);
      await dropSampleTables(config, questdb).catch(() => undefined);
      rmSync(join(config.homeDir, LAST_RUN_FILE), { force: true });
      say(`demo: --clean removed topics ${config.kafka.topicPrefix}.* and tables ${config.questdb.tablePrefix}*`);
    }
    await questdb.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

/** The topics the previous demo left (none when it ran with --clean or never ran). */
function lastRunTopics(config: Config): string[] {
  try {
    const last = JSON.parse(readFileSync(join(config.homeDir, LAST_RUN_FILE), 'utf8')) as { topics?: unknown };
    return Array.isArray(last.topics) ? last.topics.filter((t): t is string => typeof t === 'string' && t.startsWith('novacron-demo-')) : [];
  } catch {
    return [];
  }
}
