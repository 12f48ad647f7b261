import { buildApi, listApiKeys } from '../api/index.ts';
import { ALL_MIGRATIONS } from './migrations.ts';
import { createBus, createPgPool, migrate, questdbPgUrl, QuestDbClient, topicsFor, topicSpecs, type Config, type Logger } from '../core/index.ts';
import { runFleet, SamplePublisher } from '../ingest/index.ts';
import { forecast } from '../models/index.ts';
import { createSampleWorker, ensureSampleTables } from '../streams/index.ts';
import { apiDeps } from './api-deps.ts';
import { fleetFor, FLEET_USAGE, parseFleetOptions, stepsFor } from './fleet-options.ts';
import { say } from './output.ts';
import { FORECAST_MODEL_NAME } from './planning-cycle.ts';
import { untilSignal } from './run-until-signal.ts';

const fmt = (n: number) => n.toLocaleString('en-US');

const SIMULATE_USAGE = `usage: ./novacron simulate [options]
${FLEET_USAGE}
  --follow-steps N               after the history, go on producing N more steps in real time (default 0)`;

/** `novacron simulate`: produce a fleet's samples to Kafka (history fast, then optionally live). */
export async function simulateCommand(argv: string[], config: Config, log: Logger): Promise<number> {
  const opts = parseFleetOptions(argv, SIMULATE_USAGE, { 'follow-steps': '0' });
  if (opts.help) return say(SIMULATE_USAGE), 0;
  const fleet = fleetFor(opts, config);
  const topics = topicsFor(config);
  const bus = createBus(config, log);
  await bus.ensureTopics(topicSpecs(config));
  const producer = await bus.producer();
  const publisher = new SamplePublisher(producer, topics);
  const steps = stepsFor(opts, fleet);
  const lastTs = Math.floor(Date.now() / fleet.stepMs) * fleet.stepMs;
  const abort = new AbortController();
  void untilSignal().then(() => abort.abort());
  try {
    say(`simulate: ${fleet.hosts.length} hosts, ${fleet.vms.length} VMs, ${steps} steps of history to ${topics.vmSamples} / ${topics.hostSamples}`);
    const progress = (step: number, s: { vmSamples: number; hostSamples: number; malformed: number }) => {
      if (step % 24 === 0 || step === steps) say(`  step ${step}: ${fmt(s.vmSamples)} VM + ${fmt(s.hostSamples)} host samples, ${fmt(s.malformed)} malformed`);
    };
    await runFleet(fleet, publisher, { startTs: lastTs - (steps - 1) * fleet.stepMs, steps, paceMs: 0, malformedEvery: opts.malformedEvery, onProgress: progress, signal: abort.signal });
    const follow = opts.extra['follow-steps'];
    if (follow > 0 && !abort.signal.aborted) {
      say(`simulate: following in real time, ${follow} steps of ${fleet.stepMs / 1000} s (Ctrl-C to stop)`);
      await runFleet(fleet, publisher, { startTs: lastTs + fleet.stepMs, steps: follow, paceMs: fleet.stepMs, malformedEvery: opts.malformedEvery, onProgress: progress, signal: abort.signal });
    }
    say(`simulate: sent ${fmt(publisher.stats.vmSamples)} VM + ${fmt(publisher.stats.hostSamples)} host samples, ${fmt(publisher.stats.malformed)} malformed`);
    return 0;
  } finally {
    await producer.close();
  }
}

/** `novacron worker`: the streams consumer (decode, validate, DLQ, QuestDB) until SIGINT/SIGTERM. */
export async function workerCommand(_argv: string[], config: Config, log: Logger): Promise<number> {
  const topics = topicsFor(config);
  const bus = createBus(config, log);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  await bus.ensureTopics(topicSpecs(config));
  await ensureSampleTables(config, questdb);
  await questdb.close();
  const worker = await createSampleWorker(config, bus, log);
  await worker.start();
  say(`worker: consuming ${topics.vmSamples}, ${topics.hostSamples} in group ${config.kafka.topicPrefix}-streams (Ctrl-C to stop)`);
  const timer = setInterval(() => say(`worker: stored ${fmt(worker.stats.stored)}, dead-lettered ${fmt(worker.stats.deadLettered)}, anomalies ${fmt(worker.stats.anomalies)}`), 10_000);
  await untilSignal();
  clearInterval(timer);
  await worker.stop();
  say(`worker: stopped after storing ${fmt(worker.stats.stored)} samples`);
  return 0;
}

/** `novacron serve`: the HTTP API until SIGINT/SIGTERM. */
export async function serveCommand(_argv: string[], config: Config, log: Logger): Promise<number> {
  const pool = createPgPool(config.databaseUrl);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  await migrate(pool, ALL_MIGRATIONS);
  const api = await buildApi(apiDeps(pool, questdb, createBus(config, log), log, config.cloudCatalogPath));
  const url = await api.listen({ host: config.api.host, port: config.api.port });
  say(`serve: API at ${url} (docs ${url}/docs; Ctrl-C to stop)`);
  const keys = await listApiKeys(pool);
  if (!keys.some((k) => k.revokedAt === null)) say('serve: no API key exists yet, so every /v1 route answers 401: ./novacron keys create --name NAME --role viewer|operator|admin');
  await untilSignal();
  await api.close();
  await Promise.all([pool.end(), questdb.close()]);
  return 0;
}

/** `novacron train`: trains the quantile forecaster on the fleet history in QuestDB and registers it. */
export async function trainCommand(_argv: string[], config: Config, _log: Logger): Promise<number> {
  const pool = createPgPool(config.databaseUrl);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  try {
    await migrate(pool, ALL_MIGRATIONS);
    say('train: reading two weeks of VM history from QuestDB, training, evaluating against the baselines');
    const { version, result } = await forecast.trainFromQuestDb(questdb, config, pool, { name: FORECAST_MODEL_NAME, log: (line) => say(`  ${line}`) });
    say(`train: ${version.name} v${version.version} ${version.status} (backend ${version.backend}, inference ${version.inferenceEngine}, ${result.splits.length} series): ${version.reason}`);
    return 0;
  } finally {
    await Promise.all([pool.end(), questdb.close()]);
  }
}
