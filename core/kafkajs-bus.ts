import { Kafka, logLevel, Partitioners, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import type { Logger } from './logger.ts';
import type { BatchHandler, BusConsumer, BusProducer, ConsumerOptions, MessageBus, OutgoingMessage, TopicSpec } from './bus.ts';
import { NovaError } from './errors.ts';

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Routes kafkajs's own logs into pino; its INFO chatter (group joins) stays at debug. */
function kafkaLogCreator(log: Logger) {
  return () => (entry: LogEntry) => {
    const level = levelNames[entry.level] ?? 'info';
    const { message, ...rest } = entry.log;
    // The coordinator is briefly unavailable right after a broker starts; kafkajs retries it.
    const transient = typeof rest.error === 'string' && /coordinator is not available|leadership election/i.test(rest.error);
    log[level === 'info' || transient ? 'debug' : level]({ kafka: entry.namespace, ...rest }, message);
  };
}

function toHeaders(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (v === undefined) continue;
    out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

class KafkaJsProducer implements BusProducer {
  constructor(private readonly producer: Producer) {}

  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

class KafkaJsConsumer implements BusConsumer {
  constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
  ) {}

  async start(handler: BatchHandler): Promise<void> {
    for (const topic of this.options.topics) {
      await this.consumer.subscribe({ topic, fromBeginning: this.options.fromBeginning ?? true });
    }
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        await handler(
          {
            topic: batch.topic,
            partition: batch.partition,
            messages: batch.messages.map((m) => ({
              key: m.key ? m.key.toString('utf8') : null,
              value: m.value,
              headers: toHeaders(m.headers as Record<string, unknown> | undefined),
              offset: m.offset,
              timestamp: Number(m.timestamp),
            })),
          },
          heartbeat,
        );
        // Commit only after the handler stored the batch: at-least-once, made exact by idempotent sinks.
        // resolveOffset moves the fetch position; without it kafkajs fetches the same batch again.
        resolveOffset(batch.lastOffset());
        const next = (BigInt(batch.lastOffset()) + 1n).toString();
        await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
      },
    });
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** MessageBus over kafkajs (pure JS, speaks the protocol versions Kafka 4 still accepts). */
export class KafkaJsBus implements MessageBus {
  private readonly kafka: Kafka;

  constructor(brokers: readonly string[], clientId: string, log: Logger) {
    this.kafka = new Kafka({
      brokers: [...brokers],
      clientId,
      logLevel: logLevel.INFO,
      logCreator: kafkaLogCreator(log),
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 3000 },
    });
  }

  async producer(): Promise<BusProducer> {
    const producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await connectOrExplain(() => producer.connect());
    return new KafkaJsProducer(producer);
  }

  async consumer(options: ConsumerOptions): Promise<BusConsumer> {
    const consumer = this.kafka.consumer({ groupId: options.groupId, maxBytesPerPartition: 4 * 1024 * 1024, sessionTimeout: 30_000 });
    await connectOrExplain(() => consumer.connect());
    return new KafkaJsConsumer(consumer, options);
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const admin = this.kafka.admin();
    await connectOrExplain(() => admin.connect());
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) {
        await admin.createTopics({ waitForLeaders: true, topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions })) });
      }
    } finally {
      await admin.disconnect();
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    const admin = this.kafka.admin();
    await connectOrExplain(() => admin.connect());
    try {
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length > 0) await admin.deleteTopics({ topics: present });
    } finally {
      await admin.disconnect();
    }
  }

  async consumerLag(groupId: string, topic: string): Promise<number> {
    const admin = this.kafka.admin();
    await connectOrExplain(() => admin.connect());
    try {
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const committedBy = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      let lag = 0n;
      for (const end of ends) {
        const c = committedBy.get(end.partition) ?? -1n;
        const high = BigInt(end.high);
        lag += c < 0n ? high - BigInt(end.low) : high - c;
      }
      return Number(lag);
    } finally {
      await admin.disconnect();
    }
  }
}

async function connectOrExplain(connect: () => Promise<void>): Promise<void> {
  try {
    await connect();
  } catch (cause) {
    throw new NovaError('KAFKA_UNREACHABLE', `cannot reach Kafka (${(cause as Error).message}); is the stack up? run: ./novacron stack up`, { retriable: true, cause });
  }
}
