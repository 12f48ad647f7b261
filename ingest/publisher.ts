import type { BusProducer, OutgoingMessage, Topics } from '../core/index.ts';
import { encodeHostSample, encodeVmSample, localRegistry, type SchemaRegistry } from '../schemas/index.ts';
import type { FleetTick } from './fleet.ts';

export interface PublishStats {
  hostSamples: number;
  vmSamples: number;
  malformed: number;
}

/**
 * Encodes samples and sends them to Kafka in large batches, keyed by host so one host's
 * samples stay in order on one partition. Call `flush()` before reading the stats as final.
 */
export class SamplePublisher {
  private hostQueue: OutgoingMessage[] = [];
  private vmQueue: OutgoingMessage[] = [];
  private queuedBytes = 0;
  readonly stats: PublishStats = { hostSamples: 0, vmSamples: 0, malformed: 0 };

  /**
   * @param maxRequestBytes bytes per send: one send's messages for one partition form one
   *   record batch, and brokers refuse batches over message.max.bytes (1 MiB by default).
   */
  constructor(
    private readonly producer: BusProducer,
    private readonly topics: Topics,
    private readonly maxRequestBytes = 768 * 1024,
    private readonly registry: SchemaRegistry = localRegistry,
  ) {}

  async addTick(tick: FleetTick): Promise<void> {
    for (const h of tick.hosts) await this.enqueue('host', { key: h.hostId, value: encodeHostSample(h, this.registry) });
    for (const v of tick.vms) await this.enqueue('vm', { key: v.hostId, value: encodeVmSample(v, this.registry) });
    this.stats.hostSamples += tick.hosts.length;
    this.stats.vmSamples += tick.vms.length;
  }

  /** Queues a message that is not a valid sample (for DLQ demos and tests). */
  async addMalformed(key: string, value: Buffer): Promise<void> {
    await this.enqueue('vm', { key, value });
    this.stats.malformed += 1;
  }

  private async enqueue(kind: 'host' | 'vm', message: OutgoingMessage): Promise<void> {
    // Kafka's per-record overhead is under 16 bytes; counting 16 keeps the estimate above the real size.
    const size = message.value.length + (message.key === null ? 0 : Buffer.byteLength(message.key)) + 16;
    if (this.queuedBytes + size > this.maxRequestBytes && this.queuedBytes > 0) await this.flush();
    // Look the queue up after the flush: flushing replaces both arrays.
    (kind === 'host' ? this.hostQueue : this.vmQueue).push(message);
    this.queuedBytes += size;
  }

  async flush(): Promise<void> {
    const host = this.hostQueue;
    const vm = this.vmQueue;
    this.hostQueue = [];
    this.vmQueue = [];
    this.queuedBytes = 0;
    await Promise.all([this.producer.send(this.topics.hostSamples, host), this.producer.send(this.topics.vmSamples, vm)]);
  }
}
