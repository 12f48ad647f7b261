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
  readonly stats: PublishStats = { hostSamples: 0, vmSamples: 0, malformed: 0 };

  constructor(
    private readonly producer: BusProducer,
    private readonly topics: Topics,
    private readonly batchSize = 20_000,
    private readonly registry: SchemaRegistry = localRegistry,
  ) {}

  async addTick(tick: FleetTick): Promise<void> {
    for (const h of tick.hosts) this.hostQueue.push({ key: h.hostId, value: encodeHostSample(h, this.registry) });
    for (const v of tick.vms) this.vmQueue.push({ key: v.hostId, value: encodeVmSample(v, this.registry) });
    this.stats.hostSamples += tick.hosts.length;
    this.stats.vmSamples += tick.vms.length;
    if (this.hostQueue.length + this.vmQueue.length >= this.batchSize) await this.flush();
  }

  /** Queues a message that is not a valid sample (for DLQ demos and tests). */
  async addMalformed(key: string, value: Buffer): Promise<void> {
    this.vmQueue.push({ key, value });
    this.stats.malformed += 1;
  }

  async flush(): Promise<void> {
    const host = this.hostQueue;
    const vm = this.vmQueue;
    this.hostQueue = [];
    this.vmQueue = [];
    await Promise.all([this.producer.send(this.topics.hostSamples, host), this.producer.send(this.topics.vmSamples, vm)]);
  }
}
