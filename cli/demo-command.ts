import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApi } from '../api/index.ts';
import { ACTUATOR_MIGRATIONS } from '../actuators/index.ts';
import { createBus, createIlpSender, createPgPool, loadConfig, migrate, NovaError, questdbPgUrl, questdbTable, QuestDbClient, topicsFor, type Config, type Logger } from '../core/index.ts';
import { PlanetLabReplay, runFleet, SamplePublisher, SyntheticFleet, type FleetSource } from '../ingest/index.ts';
import { SCHEDULER_MIGRATIONS } from '../scheduler/index.ts';
import { stackUp } from '../stack/index.ts';
import { ensureSampleTables, QuestDbSampleStore, SAMPLE_TABLES, SampleWorker } from '../streams/index.ts';
import { apiDeps } from './api-deps.ts';
import { formatStatus, say } from './output.ts';
import { runPlanningCycle } from './planning-cycle.ts';

const USAGE = `usage: ./novacron demo [options]
  --source synthetic|planetlab   fleet to simulate (default synthetic)
  --hosts N                      synthetic: hosts (default 12)
  --vms-per-host N               synthetic: VMs per host (default 8); planetlab: VMs per 8-core host (default 12)
  --hours H                      synthetic: hours of 5-minute history to replay, ending now (default 26)
  --day YYYYMMDD                 planetlab: day folder under <data>/traces/planetlab (default 20110303)
  --max-vms N                    planetlab: replay only the first N VMs (default 240)
  --malformed-every N            replace every Nth VM sample by a malformed message (default 250, 0 = none)
  --serve-seconds S              keep the API up this long after the summary (default 60, 0 = exit)
  --seed N                       synthetic fleet seed (default 42)`;

const fmt = (n: number) => n.toLocaleString('en-US');

function options(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string', default: 'synthetic' }, hosts: { type: 'string', default: '12' },
      'vms-per-host': { type: 'string' }, hours: { type: 'string', default: '26' },
      day: { type: 'string', default: '20110303' }, 'max-vms': { type: 'string', default: '240' },
      'malformed-every': { type: 'string', default: '250' }, 'serve-seconds': { type: 'string', default: '60' },
      seed: { type: 'string', default: '42' }, help: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new NovaError('CLI_BAD_OPTION', `--${name} must be an integer >= ${min}, got "${v}"\n${USAGE}`);
    return n;
  };
  if (values.source !== 'synthetic' && values.source !== 'planetlab') throw new NovaError('CLI_BAD_OPTION', `--source must be synthetic or planetlab, got "${values.source}"`);
  return {
    help: values.help,
    source: values.source,
    hosts: int('hosts', values.hosts, 1),
    vmsPerHost: int('vms-per-host', values['vms-per-host'] ?? (values.source === 'planetlab' ? '12' : '8'), 1),
    hours: int('hours', values.hours, 1),
    day: values.day!,
    maxVms: int('max-vms', values['max-vms'], 1),
    malformedEvery: int('malformed-every', values['malformed-every'], 0),
    serveSeconds: int('serve-seconds', values['serve-seconds'], 0),
    seed: int('seed', values.seed, 0),
  };
}

function fleetFor(opts: ReturnType<typeof options>, config: Config): FleetSource {
  if (opts.source === 'planetlab') {
    return new PlanetLabReplay({ dayDir: join(config.dataDir, 'traces', 'planetlab', opts.day), maxVms: opts.maxVms, vmsPerHost: opts.vmsPerHost });
  }
  return new SyntheticFleet({ hosts: opts.hosts, vmsPerHost: opts.vmsPerHost, seed: opts.seed, stepMs: 300_000 });
}

/**
 * `novacron demo`: the whole flow on the local stack, bounded in time, with progress lines:
 * stack up → simulate (history replayed fast) → Kafka → streams → QuestDB → forecast →
 * plan → dry run on libvirt's test driver → API, then a summary.
 */
export async function demoCommand(argv: string[], baseConfig: Config, log: Logger): Promise<number> {
  const opts = options(argv);
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

  say('[1/6] stack: PostgreSQL, Kafka, QuestDB');
  for (const s of await stackUp(config, log, (l) => say(`      ${l}`))) say(formatStatus(s));

  const fleet = fleetFor(opts, config);
  const bus = createBus(config, log);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  const pool = createPgPool(config.databaseUrl);
  const groupId = `${config.kafka.topicPrefix}-streams`;
  let worker: SampleWorker | undefined;
  let api: Awaited<ReturnType<typeof buildApi>> | undefined;
  try {
    say(`[2/6] topics ${topics.vmSamples}, ${topics.hostSamples}, ${topics.deadLetter}; tables ${questdbTable(config, SAMPLE_TABLES.vm)}, ${questdbTable(config, SAMPLE_TABLES.host)} (recreated)`);
    await bus.ensureTopics([topics.hostSamples, topics.vmSamples, topics.deadLetter].map((topic) => ({ topic, partitions: config.kafka.partitions })));
    for (const t of Object.values(SAMPLE_TABLES)) await questdb.query(`drop table if exists ${questdbTable(config, t)}`);
    await ensureSampleTables(config, questdb);
    await migrate(pool, [...SCHEDULER_MIGRATIONS, ...ACTUATOR_MIGRATIONS]);

    const store = new QuestDbSampleStore(await createIlpSender(config), config);
    worker = new SampleWorker({ bus, store, topics, groupId, log });
    await worker.start();
    api = await buildApi(apiDeps(pool, questdb, bus, log));
    await api.listen({ host: config.api.host, port: config.api.port });

    const steps = opts.source === 'synthetic' ? (opts.hours * 3_600_000) / fleet.stepMs : fleet.steps;
    const lastTs = Math.floor(Date.now() / fleet.stepMs) * fleet.stepMs;
    const startTs = lastTs - (steps - 1) * fleet.stepMs;
    say(`[3/6] simulate: ${opts.source} fleet, ${fleet.hosts.length} hosts, ${fleet.vms.length} VMs, ${steps} five-minute steps ending now (replayed as fast as Kafka takes them)`);
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

    say(`[4/6] streams: waiting for the consumer group to catch up (${fmt(total)} messages)`);
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

    say('[5/6] forecast → consolidation plan → dry run against libvirt (test driver)');
    const cycle = await runPlanningCycle({ config, questdb, pool, log, mirrorTestNodes: true });
    const methods = new Map<string, number>();
    for (const f of cycle.forecasts) methods.set(f.method, (methods.get(f.method) ?? 0) + 1);
    const migrations = cycle.plan.actions.filter((a) => a.kind === 'migrate').length;
    const powerOffs = cycle.plan.actions.length - migrations;
    const apiUrl = `http://${config.api.host}:${config.api.port}`;

    say(`[6/6] done in ${elapsed()}`);
    say('');
    say('summary');
    say(`  samples produced : ${fmt(produced.vmSamples)} VM + ${fmt(produced.hostSamples)} host samples, ${fmt(produced.malformed)} malformed`);
    say(`  samples ingested : ${fmt(vmRows + hostRows)} rows in QuestDB (${vmTable}: ${fmt(vmRows)}, ${hostTable}: ${fmt(hostRows)})`);
    say(`  dead-lettered    : ${fmt(worker.stats.deadLettered)} on ${topics.deadLetter} (${Object.entries(worker.stats.byCode).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'})`);
    say(`  forecasts        : ${cycle.forecasts.length} VMs, p95 CPU next hour (${[...methods].map(([m, n]) => `${m} ${n}`).join(', ')})`);
    say(`  ${`plan #${cycle.planId}`.padEnd(17)}: hosts ${cycle.plan.hostsBefore} → ${cycle.plan.hostsAfter} (${cycle.plan.hostsSaved} saved), ${migrations} migrations, ${powerOffs} power-offs${cycle.plan.unplaced.length ? `, ${cycle.plan.unplaced.length} VMs fit nowhere` : ''}`);
    say(`  dry run (libvirt): ${cycle.dryRun.ok} actions ok, ${cycle.dryRun.blocked} blocked`);
    say(`  API              : ${apiUrl}/v1/recommendations  ${apiUrl}/v1/hosts  ${apiUrl}/healthz  docs ${apiUrl}/docs`);
    say(`  QuestDB console  : http://${config.questdb.host}:${config.questdb.httpPort}  (try: select * from ${vmTable} limit 10)`);
    say(`  stop the stack   : ./novacron stack down`);
    if (opts.serveSeconds > 0) {
      say(`\nAPI stays up for ${opts.serveSeconds} s (Ctrl-C to end sooner).`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, opts.serveSeconds * 1000);
        process.once('SIGINT', () => { clearTimeout(t); resolve(); });
      });
    }
    return 0;
  } finally {
    await api?.close().catch(() => undefined);
    await worker?.stop().catch(() => undefined);
    await bus.deleteTopics([topics.hostSamples, topics.vmSamples, topics.deadLetter]).catch(() => undefined);
    await questdb.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}
