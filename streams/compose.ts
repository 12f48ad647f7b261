import { hostname } from 'node:os';
import { createIlpSender, NovaError, topicsFor, type Config, type Logger, type MessageBus } from '../core/index.ts';
import { createSeriesDetector } from '../models/index.ts';
import { AnomalySink } from './anomaly-sink.ts';
import { AnomalyStage } from './anomaly-stage.ts';
import type { BatchDecoder } from './decoder.ts';
import { WorkerMetrics } from './metrics.ts';
import { PipelineStatsRecorder } from './pipeline-stats.ts';
import { CoalescingSampleStore } from './coalescing-store.ts';
import { QuestDbSampleStore } from './sample-store.ts';
import { SampleWorker } from './worker.ts';

let workersCreated = 0;

/**
 * Wires a streams worker: QuestDB sample store, online anomaly scoring (the models'
 * streaming detector per VM and metric) publishing to `<prefix>.anomalies` and QuestDB,
 * decoders of extra topics, its Prometheus metrics (process metrics included unless
 * `processMetrics: false`; serve them with serveMetrics(worker.metrics.registry, ...)), and a row
 * of them in `pipeline_stats` every NOVACRON_PIPELINE_STATS_SECONDS (0: none).
 */
export async function createSampleWorker(
  config: Config,
  bus: MessageBus,
  log: Logger,
  opts: { groupId?: string; anomalies?: boolean; decoders?: Record<string, BatchDecoder>; processMetrics?: boolean } = {},
): Promise<SampleWorker> {
  const topics = topicsFor(config);
  const questdb = new QuestDbSampleStore(config);
  // A QuestDB that cannot take our rows stops the worker here, with its version named, rather
  // than refusing every batch; one that is down now is waited for by the writes, as ever.
  await questdb.checkServer().catch((err: unknown) => {
    if (!(err instanceof NovaError) || !err.retriable) throw err;
    log.warn({ code: err.code, err: err.message }, 'QuestDB not reachable at start; its version is checked before the first write');
  });
  // The batches of all partitions are handled side by side: one QuestDB transaction for all of them.
  const store = new CoalescingSampleStore(questdb);
  let anomalies: ConstructorParameters<typeof SampleWorker>[0]['anomalies'];
  if (opts.anomalies ?? true) {
    const stage = new AnomalyStage(() => createSeriesDetector({ probationSamples: config.anomaly.probationSamples, minChange: config.anomaly.minChange }), {
      idleMs: config.anomaly.idleHours * 3_600_000,
      maxSeries: config.anomaly.maxSeries,
    });
    anomalies = { stage, sink: new AnomalySink(await bus.producer(), topics.anomalies, await createIlpSender(config), config) };
  }
  const metrics = new WorkerMetrics({ processMetrics: opts.processMetrics ?? true });
  const statsMs = config.worker.statsSeconds * 1000;
  // hostname-pid (-n for a further worker of the same process): unique among the workers of a group, also one per container.
  const workerId = `${hostname()}-${process.pid}${++workersCreated > 1 ? `-${workersCreated}` : ''}`;
  const stats = statsMs > 0 ? new PipelineStatsRecorder(config, metrics, await createIlpSender(config), { workerId, everyMs: statsMs, log }) : undefined;
  return new SampleWorker({
    bus, store, topics, log, anomalies, metrics, stats,
    groupId: opts.groupId ?? `${config.kafka.topicPrefix}-streams`,
    decoders: opts.decoders,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    minRoundMs: config.worker.roundMs,
    // Each stats row carries the lag as last read: read it at least as often as rows are written.
    ...(stats ? { lagEveryMs: Math.min(15_000, statsMs) } : {}),
  });
}
