import { NovaError, topicPartitionKey, type BusConsumer, type BusProducer, type IncomingBatch, type Logger, type MessageBus, type TopicPartition, type Topics } from '../core/index.ts';
import type { VmSample } from '../schemas/index.ts';
import type { AnomalySink } from './anomaly-sink.ts';
import type { AnomalyStage } from './anomaly-stage.ts';
import { AvroSampleDecoder } from './avro-decoder.ts';
import { deadLetter } from './dead-letter.ts';
import type { BatchDecoder, DecodedBatch } from './decoder.ts';
import { WorkerMetrics } from './metrics.ts';
import type { EncodedRows, SampleStore } from './sample-store.ts';
import { backoffMs, classifyStoreError, type StoreFailure } from './store-retry.ts';

export interface WorkerStats {
  batches: number;
  stored: number;
  deadLettered: number;
  /** Anomaly events published. */
  anomalies: number;
  /** Dead-lettered messages by error code. */
  byCode: Record<string, number>;
  /** Store writes retried in place after a retriable failure (QuestDB down or slow). */
  storeRetries: number;
  /** Times fetching was paused because the store kept failing. */
  pauses: number;
}

export interface SampleWorkerDeps {
  bus: MessageBus;
  store: SampleStore;
  topics: Topics;
  groupId: string;
  log: Logger;
  now?: () => number;
  /** Online anomaly scoring of the stored VM samples; off when absent. */
  anomalies?: { stage: AnomalyStage; sink: Pick<AnomalySink, 'publish' | 'close'> };
  /**
   * Decoders of further topics the worker also consumes (topic → decoder), e.g. collectd's
   * JSON; the host and VM sample topics use the Avro decoder unless named here.
   */
  decoders?: Record<string, BatchDecoder>;
  /** Where counters and latencies go; a private registry when absent. */
  metrics?: WorkerMetrics;
  /** The group's session timeout for this member (the bus adapter's default when absent). */
  sessionTimeoutMs?: number;
  /** Rounds of batches start at most this often, ms (ConsumerOptions.minRoundMs; absent: as messages come). */
  minRoundMs?: number;
  /** How often the handler offers a heartbeat while a batch is in hand (the adapter throttles to its own interval). Default 1 s. */
  heartbeatEveryMs?: number;
  /** Backoff of in-place store retries: first delay and cap, ms. Defaults 500 ms, 30 s. */
  retry?: { baseMs?: number; maxMs?: number };
  /** How often consumer lag is read into the lag gauge; 0 = never. Default 15 s. */
  lagEveryMs?: number;
  /** Started with the worker and stopped after it leaves the group, e.g. the pipeline_stats recorder (streams/pipeline-stats.ts). */
  stats?: { start(): Promise<void>; stop(): Promise<void> };
}

/** Keeps the member alive in its group while a batch is in hand (store stall, retries). */
interface KeepAlive {
  stop(): void;
  /** The coordinator answered a heartbeat with "rebalancing": our partitions may move. */
  readonly rebalancing: boolean;
}

function keepAlive(heartbeat: () => Promise<void>, everyMs: number, log: Logger): KeepAlive {
  const state = { rebalancing: false };
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    heartbeat()
      .catch((err: unknown) => {
        const text = `${(err as { type?: string }).type ?? ''} ${err instanceof Error ? err.message : String(err)}`;
        if (/rebalanc|REBALANCE_IN_PROGRESS|not aware of this member|UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION|generation id/i.test(text)) {
          if (!state.rebalancing) log.info({ err: text.trim() }, 'group rebalancing while a batch is in hand');
          state.rebalancing = true;
        } else {
          log.debug({ err: text.trim() }, 'heartbeat failed; the next one retries');
        }
      })
      .finally(() => (inFlight = false));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), get rebalancing() { return state.rebalancing; } };
}

/**
 * The ingest consumer: decode + validate each message (a decoder per topic), dead-letter what
 * is bad (with the reason in headers), store the rest; the batch's offsets are committed only
 * after both the store and the DLQ accepted their part. While a batch is in hand the member
 * heartbeats, so a slow store never costs it its partitions; when the store is down the worker
 * pauses fetching and retries the same batch with backoff instead of failing it back to Kafka.
 * Scale out by running more workers in the group (up to the topics' partition count).
 */
export class SampleWorker {
  readonly stats: WorkerStats = { batches: 0, stored: 0, deadLettered: 0, anomalies: 0, byCode: {}, storeRetries: 0, pauses: 0 };
  readonly metrics: WorkerMetrics;
  private consumer: BusConsumer | undefined;
  private dlq: BusProducer | undefined;
  private readonly avro = new AvroSampleDecoder();
  private readonly decoders: Map<string, BatchDecoder>;
  private pausedSince: number | undefined;
  private stopping = false;
  private readonly wakers = new Set<() => void>();
  private lagTimer: NodeJS.Timeout | undefined;
  /** Topic partitions numbered for the anomaly stage, as first seen. */
  private readonly sources = new Map<string, number>();

  constructor(private readonly deps: SampleWorkerDeps) {
    this.metrics = deps.metrics ?? new WorkerMetrics();
    if (deps.anomalies) this.metrics.watchDetector(deps.anomalies.stage);
    this.decoders = new Map<string, BatchDecoder>([
      [deps.topics.hostSamples, this.avro],
      [deps.topics.vmSamples, this.avro],
      ...Object.entries(deps.decoders ?? {}),
    ]);
  }

  /** Every topic the worker consumes: the two sample topics plus those with their own decoder. */
  get subscribedTopics(): string[] {
    return [...this.decoders.keys()];
  }

  async start(): Promise<void> {
    const { bus, groupId, sessionTimeoutMs, minRoundMs } = this.deps;
    this.dlq = await bus.producer();
    this.consumer = await bus.consumer({ groupId, topics: this.subscribedTopics, fromBeginning: true, sessionTimeoutMs, minRoundMs, onRevoked: (lost) => this.releaseState(lost) });
    await this.consumer.start((batch, heartbeat) => this.handle(batch, heartbeat));
    const lagEveryMs = this.deps.lagEveryMs ?? 15_000;
    if (lagEveryMs > 0) {
      this.lagTimer = setInterval(() => void this.readLag(), lagEveryMs);
      this.lagTimer.unref();
    }
    await this.deps.stats?.start();
  }

  /** Reads the group's lag per topic into the lag gauge; a failed read keeps the last value. */
  async readLag(): Promise<void> {
    for (const topic of this.subscribedTopics) {
      try {
        this.metrics.consumerLag.set({ topic }, await this.deps.bus.consumerLag(this.deps.groupId, topic));
      } catch (err) {
        this.deps.log.debug({ topic, err: err instanceof Error ? err.message : String(err) }, 'consumer lag not readable now');
      }
    }
  }

  /** The anomaly stage's number for a batch's topic partition (see AnomalyStage.observe). */
  private sourceOf(batch: { topic: string; partition: number }): number {
    const key = topicPartitionKey(batch.topic, batch.partition);
    let id = this.sources.get(key);
    if (id === undefined) this.sources.set(key, (id = this.sources.size + 1));
    return id;
  }

  /**
   * Partitions another worker reads now: the detectors of their VMs go (the new owner builds its
   * own), so a worker that held every partition before others joined does not keep the whole
   * fleet's state until it idles out.
   */
  private releaseState(lost: readonly TopicPartition[]): void {
    const stage = this.deps.anomalies?.stage;
    if (!stage) return;
    let series = 0;
    for (const p of lost) {
      const id = this.sources.get(topicPartitionKey(p.topic, p.partition));
      if (id !== undefined) series += stage.release(id);
    }
    this.deps.log.info({ partitions: lost.length, series }, 'anomaly state of partitions another worker reads now released');
  }

  /** Counters move only after the batch is stored: a re-delivered batch is not counted twice. */
  private async handle(batch: IncomingBatch, heartbeat: () => Promise<void>): Promise<void> {
    const endBatch = this.metrics.batchSeconds.startTimer();
    const beat = keepAlive(heartbeat, this.deps.heartbeatEveryMs ?? 1_000, this.deps.log);
    this.metrics.samplesIn.inc({ topic: batch.topic }, batch.messages.length);
    let rows: EncodedRows | undefined;
    let stored: Promise<void> | undefined;
    try {
      // The decoded samples live only until they are encoded and scored, not while the batch
      // waits on the store (see SampleStore); `vms` is cleared once scored, because a variable
      // still in scope may stay reachable through the suspended async frame.
      let vms: VmSample[] | undefined;
      let count: number;
      let rejects: DecodedBatch['rejects'];
      ({ rows, vms, count, rejects } = this.prepare(batch));
      // Store first: it is idempotent, so a failed DLQ send that re-delivers the batch costs
      // nothing there, while the DLQ (not idempotent) only sees rejects once the rows are safe.
      stored = this.storeUntilDone(rows, batch, beat);
      // Awaited below; a failure before then must not count as an unhandled rejection meanwhile.
      stored.catch(() => undefined);
      const anomalies = this.deps.anomalies;
      if (anomalies && vms) {
        // Scored while QuestDB takes the rows (the worker's CPU would otherwise idle through the
        // write); events are published only after the rows are stored. Scoring a batch that is
        // then handed back costs nothing twice: detectors drop exact repeats when it comes again.
        // One turn of the event loop first, so the write's request is on the wire meanwhile.
        await new Promise(setImmediate);
        anomalies.stage.observe(vms, this.sourceOf(batch));
        vms = undefined;
      }
      await stored;
      if (anomalies) {
        // Counted once published: the stage's outbox never hands an event over twice.
        const events = await anomalies.stage.drain((e) => anomalies.sink.publish(e));
        this.stats.anomalies += events;
        this.metrics.anomalyEvents.inc(events);
      }
      await this.dlq!.send(this.deps.topics.deadLetter, rejects.map((r) => deadLetter(r.message, batch, r.rejection)));
      this.stats.batches += 1;
      this.stats.stored += count;
      this.stats.deadLettered += rejects.length;
      this.metrics.samplesStored.inc(count);
      for (const { rejection } of rejects) {
        this.stats.byCode[rejection.code] = (this.stats.byCode[rejection.code] ?? 0) + 1;
        this.metrics.deadLetters.inc({ code: rejection.code });
      }
      if (rejects.length > 0) this.deps.log.debug({ topic: batch.topic, partition: batch.partition, dead: rejects.length }, 'dead-lettered samples');
    } finally {
      // The rows' memory goes back to the store once no write of them can be in flight (a
      // failure above may leave the write running).
      if (rows) {
        const done = rows;
        const release = () => this.deps.store.release(done);
        if (stored) stored.then(release, release);
        else release();
      }
      beat.stop();
      // A batch given up while paused is re-delivered by Kafka: that needs fetching again.
      this.resumeFetching('batch handed back to Kafka');
      endBatch();
    }
  }

  /** Decodes a batch and encodes its samples for the store, keeping of them only the VM samples to score. */
  private prepare(batch: IncomingBatch): { rows: EncodedRows; vms: VmSample[] | undefined; count: number; rejects: DecodedBatch['rejects'] } {
    const { samples, rejects } = this.decode(batch);
    let vms: VmSample[] | undefined;
    if (this.deps.anomalies) {
      // A plain loop: flatMap allocates a one-element array per sample (garbage at 100k/s).
      vms = [];
      for (const s of samples) if (s.kind === 'vm') vms.push(s.sample);
    }
    let rows: EncodedRows;
    try {
      rows = this.deps.store.encode(samples);
    } catch (err) {
      // A sample the store cannot take, as when the store refuses a write: handed back to Kafka.
      this.deps.log.error({ topic: batch.topic, partition: batch.partition, code: classifyStoreError(err).code, err: (err as Error).message }, 'store cannot encode the batch; it will be delivered again');
      throw err;
    }
    return { rows, vms, count: samples.length, rejects };
  }

  private decode(batch: IncomingBatch): DecodedBatch {
    const decoder = this.decoders.get(batch.topic) ?? this.avro;
    try {
      return decoder.decode(batch.messages, (this.deps.now ?? Date.now)());
    } catch (err) {
      // Decoders reject bad input per message; a throw is a decoder bug. Parking the batch
      // keeps the partition moving instead of re-delivering it forever.
      const reason = `decoder failed on the whole batch: ${err instanceof Error ? err.message : String(err)}`;
      this.deps.log.error({ topic: batch.topic, partition: batch.partition, err: reason }, 'decoder threw; dead-lettering the batch');
      return { samples: [], rejects: batch.messages.map((message) => ({ message, rejection: { code: 'DECODER_FAILED', reason } })) };
    }
  }

  /**
   * Writes the batch, retrying in place while the store fails retriably: fetching is paused
   * meanwhile (nothing more is buffered) and the keep-alive holds our partitions. A store
   * that refuses the data, a rebalance or stop() hands the batch back to Kafka instead.
   */
  private async storeUntilDone(rows: EncodedRows, batch: IncomingBatch, beat: KeepAlive): Promise<void> {
    const baseMs = this.deps.retry?.baseMs ?? 500;
    const maxMs = this.deps.retry?.maxMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      const endWrite = this.metrics.storeWriteSeconds.startTimer();
      try {
        await this.deps.store.writeEncoded(rows);
        endWrite();
        this.resumeFetching('store accepted the batch');
        return;
      } catch (err) {
        endWrite();
        const failure = classifyStoreError(err);
        const where = { topic: batch.topic, partition: batch.partition, code: failure.code, attempt };
        if (!failure.retriable) {
          this.deps.log.error({ ...where, err: failure.message }, 'store refused the batch; it will be delivered again');
          throw err;
        }
        if (this.stopping) throw err;
        if (beat.rebalancing) {
          throw new NovaError('WORKER_REBALANCED', `the group rebalanced while the store was failing (${failure.code}); the batch goes back to Kafka for its next owner`, { retriable: true, cause: err });
        }
        this.pauseFetching(failure);
        this.stats.storeRetries += 1;
        this.metrics.storeRetries.inc({ code: failure.code });
        const delay = backoffMs(attempt, baseMs, maxMs);
        this.deps.log.debug({ ...where, delayMs: delay, err: failure.message }, 'store write failed; retrying the same batch');
        await this.sleep(delay);
      }
    }
  }

  private pauseFetching(cause: StoreFailure): void {
    if (this.pausedSince !== undefined) return;
    this.pausedSince = Date.now();
    this.stats.pauses += 1;
    this.metrics.paused.set(1);
    this.consumer?.pause?.();
    this.deps.log.warn({ code: cause.code, err: cause.message }, 'store is failing: paused fetching, retrying the batch in hand with backoff');
  }

  private resumeFetching(why: string): void {
    if (this.pausedSince === undefined) return;
    const pausedMs = Date.now() - this.pausedSince;
    this.pausedSince = undefined;
    this.metrics.paused.set(0);
    this.consumer?.resume?.();
    this.deps.log.info({ pausedMs, why }, `resumed fetching after ${(pausedMs / 1000).toFixed(1)} s`);
  }

  /** A timer stop() can cut short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /** Leaves the group (a batch in retry is handed back, uncommitted), then closes everything the worker writes through. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.wakers]) wake();
    if (this.lagTimer) clearInterval(this.lagTimer);
    await this.consumer?.close();
    // After the last batch: the recorder's final row counts it.
    await this.deps.stats?.stop();
    await this.dlq?.close();
    await this.deps.store.close();
    await this.deps.anomalies?.sink.close();
  }
}
