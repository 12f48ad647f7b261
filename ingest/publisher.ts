import type { BusProducer, OutgoingMessage, Topics } from '../core/index.ts';
import { encodeHostTick, localRegistry, type HostTick, type SchemaRegistry } from '../schemas/index.ts';
import type { FleetTick } from './fleet.ts';

export interface PublishStats {
  hostSamples: number;
  vmSamples: number;
  malformed: number;
}

/**
 * Encodes samples and sends them to Kafka in large batches. Each host's samples of one tick
 * (its own and its VMs') go as one host-tick message (schemas/host-tick.avsc), keyed by host
 * so one host's ticks stay in order on one partition: at fleet scale the per-message cost
 * (Kafka framing, the consumer's per-message work) was most of the pipeline's, and a tick is
 * one message instead of 1 + VMs. Ticks go to the VM sample topic; workers read the
 * single-sample form too (older producers), so workers must be upgraded before producers.
 * Call `flush()` before reading the stats as final.
 */
export class SamplePublisher {
  private queue: OutgoingMessage[] = [];
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
    // Group by host in first-seen order (a fleet's VMs are listed host by host, so this is cheap).
    const byHost = new Map<string, HostTick>();
    for (const h of tick.hosts) byHost.set(h.hostId, { host: h, vms: [] });
    for (const v of tick.vms) {
      let t = byHost.get(v.hostId);
      if (!t) byHost.set(v.hostId, (t = { host: null, vms: [] }));
      t.vms.push(v);
    }
    for (const [hostId, t] of byHost) await this.enqueue({ key: hostId, value: encodeHostTick(t, this.registry) });
    this.stats.hostSamples += tick.hosts.length;
    this.stats.vmSamples += tick.vms.length;
  }

  /** Queues a message that is not a valid sample (for DLQ demos and tests). */
  async addMalformed(key: string, value: Buffer): Promise<void> {
    await this.enqueue({ key, value });
    this.stats.malformed += 1;
  }

  private async enqueue(message: OutgoingMessage): Promise<void> {
    // Kafka's per-record overhead is under 16 bytes; counting 16 keeps the estimate above the real size.
    const size = message.value.length + (message.key === null ? 0 : Buffer.byteLength(message.key)) + 16;
    if (this.queuedBytes + size > this.maxRequestBytes && this.queuedBytes > 0) await this.flush();
    // Look the queue up after the flush: flushing replaces it.
    this.queue.push(message);
    this.queuedBytes += size;
  }

  async flush(): Promise<void> {
    const messages = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (messages.length > 0) await this.producer.send(this.topics.vmSamples, messages);
  }
}
