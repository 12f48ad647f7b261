import type { BusConsumer, BusProducer, IncomingBatch, Logger, MessageBus, Topics } from '../core/index.ts';
import { decodeSample, SampleError, validateSample, type Sample } from '../schemas/index.ts';
import type { AnomalySink } from './anomaly-sink.ts';
import type { AnomalyStage } from './anomaly-stage.ts';
import { deadLetter, type Rejection } from './dead-letter.ts';
import type { SampleStore } from './sample-store.ts';

export interface WorkerStats {
  batches: number;
  stored: number;
  deadLettered: number;
  /** Anomaly events published. */
  anomalies: number;
  /** Dead-lettered messages by error code. */
  byCode: Record<string, number>;
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
}

function rejectionOf(err: unknown): Rejection {
  if (err instanceof SampleError) return { code: err.code, reason: err.message, field: err.field };
  // A decoder bug must not stop the partition: park the message with the cause and go on.
  return { code: 'SAMPLE_UNEXPECTED', reason: err instanceof Error ? err.message : String(err) };
}

/**
 * The ingest consumer: decode + validate each sample, dead-letter what is bad (with the
 * reason in headers), store the rest; the batch's offsets are committed only after both the
 * store and the DLQ accepted their part. Scale out by running more workers in the group.
 */
export class SampleWorker {
  readonly stats: WorkerStats = { batches: 0, stored: 0, deadLettered: 0, anomalies: 0, byCode: {} };
  private consumer: BusConsumer | undefined;
  private dlq: BusProducer | undefined;

  constructor(private readonly deps: SampleWorkerDeps) {}

  async start(): Promise<void> {
    const { bus, topics, groupId } = this.deps;
    this.dlq = await bus.producer();
    this.consumer = await bus.consumer({ groupId, topics: [topics.hostSamples, topics.vmSamples], fromBeginning: true });
    await this.consumer.start((batch) => this.handle(batch));
  }

  /** Counters move only after the batch is stored: a re-delivered batch is not counted twice. */
  private async handle(batch: IncomingBatch): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const valid: Sample[] = [];
    const dead = [];
    const codes: string[] = [];
    for (const message of batch.messages) {
      try {
        const sample = decodeSample(message.value);
        validateSample(sample, now);
        valid.push(sample);
      } catch (err) {
        const why = rejectionOf(err);
        dead.push(deadLetter(message, batch, why));
        codes.push(why.code);
      }
    }
    // Store first: it is idempotent, so a failed DLQ send that re-delivers the batch costs
    // nothing there, while the DLQ (not idempotent) only sees rejects once the rows are safe.
    await this.deps.store.write(valid);
    const anomalies = this.deps.anomalies;
    if (anomalies) {
      anomalies.stage.observe(valid.flatMap((s) => (s.kind === 'vm' ? [s.sample] : [])));
      this.stats.anomalies += await anomalies.stage.drain((events) => anomalies.sink.publish(events));
    }
    await this.dlq!.send(this.deps.topics.deadLetter, dead);
    this.stats.batches += 1;
    this.stats.stored += valid.length;
    this.stats.deadLettered += dead.length;
    for (const code of codes) this.stats.byCode[code] = (this.stats.byCode[code] ?? 0) + 1;
    if (dead.length > 0) this.deps.log.debug({ topic: batch.topic, partition: batch.partition, dead: dead.length }, 'dead-lettered samples');
  }

  /** Leaves the group, then closes everything the worker writes through. */
  async stop(): Promise<void> {
    await this.consumer?.close();
    await this.dlq?.close();
    await this.deps.store.close();
    await this.deps.anomalies?.sink.close();
  }
}
