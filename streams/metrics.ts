import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { startMetricsServer, type MetricsServer } from '../core/index.ts';

/** What the detector gauges read at scrape time (AnomalyStage has both). */
export interface DetectorState {
  readonly seriesCount: number;
  readonly stateBytes: number;
}

/**
 * The streams worker's Prometheus metrics, in a registry of its own: several workers (or
 * tests) in one process never share or clash over a metric, and the default registry of
 * other modules stays theirs.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly samplesIn: Counter<'topic'>;
  readonly samplesStored: Counter;
  readonly deadLetters: Counter<'code'>;
  readonly anomalyEvents: Counter;
  readonly storeRetries: Counter<'code'>;
  readonly batchSeconds: Histogram;
  readonly storeWriteSeconds: Histogram;
  readonly consumerLag: Gauge<'topic'>;
  readonly paused: Gauge;
  private detector: DetectorState | undefined;

  /** `processMetrics`: also collect Node's process metrics (CPU, heap, event loop lag) — once per process. */
  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.samplesIn = new Counter({ name: 'novacron_worker_samples_in_total', help: 'Messages fetched, by topic (a re-delivered batch counts again)', labelNames: ['topic'], registers });
    this.samplesStored = new Counter({ name: 'novacron_worker_samples_stored_total', help: 'Samples written to the store (batches that completed)', registers });
    this.deadLetters = new Counter({ name: 'novacron_worker_dead_letters_total', help: 'Messages sent to the dead-letter topic, by reason code', labelNames: ['code'], registers });
    this.anomalyEvents = new Counter({ name: 'novacron_worker_anomaly_events_total', help: 'Anomaly events published', registers });
    this.storeRetries = new Counter({ name: 'novacron_worker_store_retries_total', help: 'Store writes retried after a retriable failure, by error code', labelNames: ['code'], registers });
    this.batchSeconds = new Histogram({
      name: 'novacron_worker_batch_seconds', help: 'Time to handle one fetched batch: decode, store, score, dead-letter',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers,
    });
    this.storeWriteSeconds = new Histogram({
      name: 'novacron_worker_store_write_seconds', help: 'Time of one store write attempt (QuestDB ILP flush)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    });
    this.consumerLag = new Gauge({ name: 'novacron_worker_consumer_lag', help: "Messages of each topic not yet committed by the worker's group", labelNames: ['topic'], registers });
    this.paused = new Gauge({ name: 'novacron_worker_paused', help: '1 while fetching is paused because the store is failing', registers });
    const detector = () => this.detector;
    new Gauge({
      name: 'novacron_worker_detector_series', help: 'Series the online anomaly detector holds state for', registers,
      collect() { this.set(detector()?.seriesCount ?? 0); },
    });
    new Gauge({
      name: 'novacron_worker_detector_state_bytes', help: 'Approximate bytes of anomaly detector state', registers,
      collect() { this.set(detector()?.stateBytes ?? 0); },
    });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Lets the detector gauges read the anomaly stage at scrape time. */
  watchDetector(state: DetectorState): void {
    this.detector = state;
  }
}

/** A listening /metrics endpoint (core's, shared by every long-running process). */
export type { MetricsServer } from '../core/index.ts';

/** Serves `registry` at GET /metrics (and /healthz) on host:port (port 0: any free port, for tests). */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  return startMetricsServer(registry, { host, port, portSetting: 'NOVACRON_WORKER_METRICS_PORT' });
}
