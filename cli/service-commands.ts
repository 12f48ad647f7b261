import { join } from 'node:path';
import { buildApi, listApiKeys } from '../api/index.ts';
import { ALL_MIGRATIONS } from './migrations.ts';
import { createBus, createPgPool, migrate, NovaError, questdbPgUrl, QuestDbClient, topicsFor, topicSpecs, type BusProducer, type Config, type Logger } from '../core/index.ts';
import { CodedProducer, readProgress, resumeWindow, runFleet, SamplePublisher, sendError, SpoolingProducer, writeProgress, type StepsDone } from '../ingest/index.ts';
import { forecast } from '../models/index.ts';
import { collectdDecoders, createSampleWorker, ensureSampleTables, serveMetrics, type MetricsServer } from '../streams/index.ts';
import { apiDeps, apiOptionsFrom } from './api-deps.ts';
import { fleetFor, FLEET_USAGE, parseFleetOptions, stepsFor } from './fleet-options.ts';
import { say } from './output.ts';
import { FORECAST_MODEL_NAME } from './planning-cycle.ts';
import { untilSignal } from './run-until-signal.ts';

const fmt = (n: number) => n.toLocaleString('en-US');

const SIMULATE_USAGE = `usage: ./novacron simulate [options]
${FLEET_USAGE}
  --follow-steps N               after the history, go on producing N more steps live: each stamped with
                                 the real clock (on the step grid, never in the future) (default 0)
  --follow-interval S            seconds between live steps (default 0 = the fleet's step, 300); e.g. 10 for a demo
  --resume                       continue after the last step a previous run completed (same fleet options),
                                 up to now; the record is <NOVACRON_SPOOL_DIR>/simulate-<topic prefix>/progress.json
  --close-timeout S              at the end, wait up to S seconds for Kafka to take spooled samples (default 10)

When Kafka cannot be reached, samples go to a disk spool (NOVACRON_SPOOL_*) and are sent, in order,
when it is back, by this run or the next one with the same topic prefix. Exit status 75 means samples
were left in the spool (docs/ingest.md).`;

/** `novacron simulate`: produce a fleet's samples to Kafka (history fast, then optionally live). */
export async function simulateCommand(argv: string[], config: Config, log: Logger): Promise<number> {
  const resume = argv.includes('--resume');
  const opts = parseFleetOptions(argv.filter((a) => a !== '--resume'), SIMULATE_USAGE, { 'follow-steps': '0', 'follow-interval': '0', 'close-timeout': '10' });
  if (opts.help) return say(SIMULATE_USAGE), 0;
  const fleet = fleetFor(opts, config);
  const topics = topicsFor(config);
  // With the spool on, a broker that is away is expected: kafkajs's per-retry connection errors
  // would bury the progress lines, and the spool logs one warning per attempt itself.
  const busLog = config.spool.enabled && log.level === 'warn' ? log.child({}, { level: 'fatal' }) : log;
  const bus = createBus(config, busLog);
  const name = `simulate-${config.kafka.topicPrefix}`;
  const progressFile = join(config.spool.dir, name, 'progress.json');
  // What is being produced: a resume of a different fleet would mix two fleets' series.
  const fingerprint = opts.source === 'planetlab'
    ? `planetlab day=${opts.day} max-vms=${opts.maxVms} vms-per-host=${opts.vmsPerHost} malformed-every=${opts.malformedEvery}`
    : `synthetic hosts=${opts.hosts} vms-per-host=${opts.vmsPerHost} seed=${opts.seed} step=${fleet.stepMs} malformed-every=${opts.malformedEvery}`;

  const nowTs = Date.now();
  let window = { firstStep: 0, steps: stepsFor(opts, fleet), startTs: 0 };
  window.startTs = Math.floor(nowTs / fleet.stepMs) * fleet.stepMs - (window.steps - 1) * fleet.stepMs;
  let last: StepsDone | undefined;
  if (resume) {
    const recorded = readProgress(progressFile);
    if (!recorded) say(`simulate: --resume: no progress recorded in ${progressFile}; starting from scratch`);
    else if (recorded.fleet !== fingerprint) {
      throw new NovaError('SIMULATE_RESUME_MISMATCH', `--resume: ${progressFile} records a run of "${recorded.fleet}", not "${fingerprint}"; run with that run's options, or without --resume to start over`);
    } else {
      window = resumeWindow(recorded, nowTs);
      last = { step: recorded.lastStep, ts: recorded.lastTs };
      say(`simulate: resuming after step ${recorded.lastStep} (${new Date(recorded.lastTs).toISOString()}), ${window.steps} steps to catch up to now`);
    }
  }

  let producer: BusProducer;
  let spool: SpoolingProducer | undefined;
  if (config.spool.enabled) {
    // Connects lazily and again after every failure: a broker that is down now does not stop the run.
    spool = new SpoolingProducer({
      connect: async () => {
        await bus.ensureTopics(topicSpecs(config));
        return bus.producer();
      },
      dir: join(config.spool.dir, name),
      maxBytes: config.spool.maxBytes,
      log,
    });
    producer = spool;
    if (spool.stats.pending > 0) say(`simulate: ${fmt(spool.stats.pending)} samples left in the spool by an earlier run are sent first`);
  } else {
    try {
      await bus.ensureTopics(topicSpecs(config));
      producer = new CodedProducer(await bus.producer());
    } catch (err) {
      throw sendError(err, topics.vmSamples);
    }
  }
  const publisher = new SamplePublisher(producer, topics);
  const abort = new AbortController();
  void untilSignal().then(() => abort.abort());
  const spoolLine = () => {
    if (!spool) return '';
    const s = spool.stats;
    return `; spool: ${fmt(s.spooled)} spooled, ${fmt(s.drained)} drained, ${fmt(s.dropped)} dropped, ${fmt(s.pending)} waiting (${s.state})`;
  };
  const counts = () => `${fmt(publisher.stats.vmSamples)} VM + ${fmt(publisher.stats.hostSamples)} host samples, ${fmt(publisher.stats.malformed)} malformed`;
  const record = (done: StepsDone) => {
    last = done;
    writeProgress(progressFile, { fleet: fingerprint, stepMs: fleet.stepMs, lastStep: done.step, lastTs: done.ts });
  };
  let closed = false;
  const close = async (): Promise<number> => {
    closed = true;
    if (!spool) return await producer.close(), 0;
    const waiting = spool.stats.pending;
    if (waiting > 0) say(`simulate: waiting up to ${opts.extra['close-timeout']} s for Kafka to take ${fmt(waiting)} spooled samples`);
    const { left, dir } = await spool.closeWithin(opts.extra['close-timeout'] * 1000);
    say(`simulate: spool: ${fmt(spool.stats.spooled)} spooled, ${fmt(spool.stats.drained)} drained, ${fmt(spool.stats.dropped)} dropped${spool.stats.dropped > 0 ? ' (over NOVACRON_SPOOL_MAX_BYTES)' : ''}`);
    if (left === 0) return 0;
    say(`simulate: ${fmt(left)} samples are still in the spool (${dir}); they are sent first by the next run: ./novacron simulate --resume (once Kafka is up: ./novacron stack up)`);
    return 75;
  };
  try {
    say(`simulate: ${fleet.hosts.length} hosts, ${fleet.vms.length} VMs, ${window.steps} steps of history to ${topics.vmSamples} / ${topics.hostSamples}${spool ? ` (spool ${spool.dir})` : ''}`);
    let lastSaid = 0;
    const progress = (total: number) => (step: number) => {
      if (step % 24 !== 0 && step !== total && Date.now() - lastSaid < 5000) return;
      lastSaid = Date.now();
      say(`  step ${step}/${total}: ${counts()}${spoolLine()}`);
    };
    await runFleet(fleet, publisher, { ...window, paceMs: 0, malformedEvery: opts.malformedEvery, onProgress: progress(window.steps), onStepsDone: record, signal: abort.signal });
    const follow = opts.extra['follow-steps'];
    if (follow > 0 && !abort.signal.aborted) {
      const intervalMs = opts.extra['follow-interval'] > 0 ? opts.extra['follow-interval'] * 1000 : fleet.stepMs;
      say(`simulate: following the clock, ${follow} steps every ${intervalMs / 1000} s (Ctrl-C to stop)`);
      const afterTs = last?.ts ?? Math.floor(Date.now() / intervalMs) * intervalMs;
      await runFleet(fleet, publisher, { startTs: afterTs, steps: follow, firstStep: (last?.step ?? -1) + 1, paceMs: 0, live: { intervalMs, afterTs }, malformedEvery: opts.malformedEvery, onStepsDone: (done) => (record(done), say(`  live step at ${new Date(done.ts).toISOString()}: ${counts()}${spoolLine()}`)), signal: abort.signal });
    }
    say(`simulate: ${abort.signal.aborted ? 'stopped; ' : ''}produced ${counts()}${last ? `, through step ${last.step} (${new Date(last.ts).toISOString()})` : ''}`);
    return await close();
  } catch (err) {
    // A send that failed for good (spool off, or records Kafka refuses): say where a resume would start.
    if (last) say(`simulate: steps through ${last.step} are complete; ./novacron simulate --resume continues after it`);
    if (err instanceof NovaError || !(err instanceof Error) || !err.name.startsWith('KafkaJS')) throw err;
    throw sendError(err, topics.vmSamples);
  } finally {
    if (!closed) await (spool ? spool.closeWithin(0) : producer.close()).catch(() => undefined);
  }
}

/** `novacron worker`: the streams consumer (decode, validate, DLQ, QuestDB) until SIGINT/SIGTERM. */
export async function workerCommand(_argv: string[], config: Config, log: Logger): Promise<number> {
  const bus = createBus(config, log);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  await bus.ensureTopics(topicSpecs(config));
  await ensureSampleTables(config, questdb);
  await questdb.close();
  // Hosts that already run collectd (virt + write_kafka) land through the same path as our agent's samples.
  const worker = await createSampleWorker(config, bus, log, { decoders: collectdDecoders(config) });
  // Listen before joining the group: a taken port fails the command before it takes partitions.
  let metrics: MetricsServer | undefined;
  if (config.worker.metricsPort > 0) metrics = await serveMetrics(worker.metrics.registry, config.worker.metricsHost, config.worker.metricsPort);
  await worker.start();
  say(`worker: consuming ${worker.subscribedTopics.join(', ')} in group ${config.kafka.topicPrefix}-streams (Ctrl-C to stop)`);
  say(metrics ? `worker: Prometheus metrics at ${metrics.url}` : 'worker: /metrics is off (NOVACRON_WORKER_METRICS_PORT=0)');
  const timer = setInterval(() => say(`worker: stored ${fmt(worker.stats.stored)}, dead-lettered ${fmt(worker.stats.deadLettered)}, anomalies ${fmt(worker.stats.anomalies)}, store retries ${fmt(worker.stats.storeRetries)}`), 10_000);
  await untilSignal();
  clearInterval(timer);
  await worker.stop();
  await metrics?.close();
  say(`worker: stopped after storing ${fmt(worker.stats.stored)} samples`);
  return 0;
}

/** `novacron serve`: the HTTP API until SIGINT/SIGTERM. */
export async function serveCommand(_argv: string[], config: Config, log: Logger): Promise<number> {
  const pool = createPgPool(config.databaseUrl);
  const questdb = new QuestDbClient(questdbPgUrl(config));
  await migrate(pool, ALL_MIGRATIONS);
  const api = await buildApi(apiDeps(pool, questdb, createBus(config, log), log, config.cloudCatalogPath, apiOptionsFrom(config)));
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
