import type { Sender } from '@questdb/nodejs-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { questdbTable, type Config, type Logger } from '../core/index.ts';
import type { WorkerMetrics } from './metrics.ts';
import { PIPELINE_STATS_TABLE } from './series-tables.ts';

/** How a PipelineStatsRecorder identifies itself and how often it writes. */
export interface PipelineStatsOptions {
  /** The worker's name in the table (hostname and pid by default in createSampleWorker). */
  workerId: string;
  /** Time between two rows, ms. */
  everyMs: number;
  log: Logger;
  now?: () => number;
}

/** Cumulative readings of the worker's counters at one instant. */
interface Reading {
  at: number;
  samplesIn: number;
  stored: number;
  dead: number;
  anomalies: number;
  retries: number;
  batches: number;
  /** Batch-time histogram: cumulative counts by upper bound (le), ascending, +Inf last. */
  buckets: { le: number; count: number }[];
}

const sum = (m: MetricObjectWithValues<MetricValue<string>>) => m.values.reduce((s, v) => s + v.value, 0);

/**
 * The worker's throughput and lag as rows of `pipeline_stats`, one every `everyMs`: what its
 * /metrics counters moved by since the last row (samples in, stored, dead-lettered, anomalies,
 * store retries, batches), the consumer lag and paused flag as they read now, and the p99 batch
 * time of the interval. /metrics serves the same counters to Prometheus; this row lets Grafana
 * chart them from QuestDB alone. It reads WorkerMetrics only, so the worker's hot path is
 * untouched; a failed write is logged and its interval folded into the next row.
 */
export class PipelineStatsRecorder {
  private readonly table: string;
  private last: Reading | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    config: Config,
    private readonly metrics: WorkerMetrics,
    private readonly sender: Sender,
    private readonly opts: PipelineStatsOptions,
  ) {
    this.table = questdbTable(config, PIPELINE_STATS_TABLE);
  }

  /** Takes the first reading and writes a row every `everyMs` from now on. */
  async start(): Promise<void> {
    this.last = await this.read();
    this.timer = setInterval(() => {
      this.writing = this.writing.then(() => this.record());
    }, this.opts.everyMs);
    this.timer.unref();
  }

  /** Writes the row of the interval in progress (the worker's last figures), then stops; once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
    if (!this.last) return;
    await this.record();
    this.last = undefined;
    await this.sender.close().catch(() => undefined);
  }

  /** Writes one row for the interval since the last one that was written. */
  async record(): Promise<void> {
    const prev = this.last;
    if (!prev) return;
    const now = await this.read();
    const lag = sum(await this.metrics.consumerLag.get());
    const paused = sum(await this.metrics.paused.get());
    const p99 = intervalQuantile(prev.buckets, now.buckets, 0.99);
    try {
      this.sender.reset();
      this.sender.table(this.table).symbol('worker_id', this.opts.workerId)
        .floatColumn('interval_s', (now.at - prev.at) / 1000)
        .intColumn('samples_in', now.samplesIn - prev.samplesIn).intColumn('samples_stored', now.stored - prev.stored)
        .intColumn('dead_lettered', now.dead - prev.dead).intColumn('anomalies', now.anomalies - prev.anomalies)
        .intColumn('store_retries', now.retries - prev.retries).intColumn('batches', now.batches - prev.batches)
        .intColumn('lag_messages', Math.round(lag)).intColumn('paused', Math.round(paused));
      if (p99 !== undefined) this.sender.floatColumn('batch_p99_s', p99);
      await this.sender.at(now.at, 'ms');
      await this.sender.flush();
      this.last = now;
    } catch (err) {
      // The counters are cumulative: keeping `last` makes the next row cover this interval too.
      this.opts.log.warn({ table: this.table, err: err instanceof Error ? err.message : String(err) }, 'pipeline stats row not written; the next row covers its interval');
    }
  }

  private async read(): Promise<Reading> {
    const m = this.metrics;
    const batch = await m.batchSeconds.get();
    const buckets = batch.values
      .filter((v) => v.metricName?.endsWith('_bucket'))
      .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value }))
      .sort((a, b) => a.le - b.le);
    return {
      at: (this.opts.now ?? Date.now)(),
      samplesIn: sum(await m.samplesIn.get()),
      stored: sum(await m.samplesStored.get()),
      dead: sum(await m.deadLetters.get()),
      anomalies: sum(await m.anomalyEvents.get()),
      retries: sum(await m.storeRetries.get()),
      batches: batch.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0,
      buckets,
    };
  }
}

/**
 * The q-quantile of the observations a cumulative histogram gained between two readings, by
 * linear interpolation inside the bucket that holds it (Prometheus's histogram_quantile); the
 * highest finite bound when it falls in +Inf; undefined when nothing was observed.
 */
export function intervalQuantile(before: readonly { le: number; count: number }[], after: readonly { le: number; count: number }[], q: number): number | undefined {
  const delta = after.map((b, i) => ({ le: b.le, count: b.count - (before[i]?.count ?? 0) }));
  const total = delta.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of delta) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lower;
      return b.count === below ? b.le : lower + ((b.le - lower) * (rank - below)) / (b.count - below);
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}
