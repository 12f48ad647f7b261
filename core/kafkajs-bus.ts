import kafkajs, { Kafka, logLevel, Partitioners, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import type { Logger } from './logger.ts';
import { topicPartitionKey, type BatchHandler, type BusConsumer, type BusProducer, type ConsumerOptions, type MessageBus, type OutgoingMessage, type TopicPartition, type TopicSpec } from './bus.ts';
import { NovaError } from './errors.ts';

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * Group membership churn kafkajs reports at ERROR/WARN although it handles it itself: a
 * rebalance (another worker joined or left), the join handshake of Kafka >= 2.2 (the first
 * JoinGroup is answered MEMBER_ID_REQUIRED by design), a generation that moved on. Matched by
 * kafkajs's messages and its protocol errors' texts (types REBALANCE_IN_PROGRESS,
 * MEMBER_ID_REQUIRED, ILLEGAL_GENERATION).
 */
const ROUTINE_GROUP_EVENT = /group is rebalancing|needs to have a valid member id|generation id is not valid|REBALANCE_IN_PROGRESS|MEMBER_ID_REQUIRED|ILLEGAL_GENERATION/i;
/** Brief unavailability right after a broker (re)starts or a topic is created (leaders settling); kafkajs retries it. */
const TRANSIENT = /coordinator is not available|leadership election|coordinator load in progress|not the leader for that topic-partition/i;

/** The pino level a kafkajs log entry deserves; exported for its unit test. */
export function kafkaLogLevel(entry: Pick<LogEntry, 'level'> & { log: { message?: string; error?: unknown; type?: unknown } }): 'error' | 'warn' | 'info' | 'debug' {
  const level = levelNames[entry.level] ?? 'info';
  // kafkajs's INFO chatter (consumer started, group joined) is noise at our info level.
  if (level === 'info' || level === 'debug') return 'debug';
  const text = `${entry.log.message ?? ''} ${typeof entry.log.error === 'string' ? entry.log.error : ''} ${typeof entry.log.type === 'string' ? entry.log.type : ''}`;
  if (ROUTINE_GROUP_EVENT.test(text)) return 'info';
  if (TRANSIENT.test(text)) return 'debug';
  return level;
}

/** Routes kafkajs's own logs into pino at the level they deserve (see kafkaLogLevel). */
function kafkaLogCreator(log: Logger) {
  return () => (entry: LogEntry) => {
    const { message, ...rest } = entry.log;
    log[kafkaLogLevel(entry)]({ kafka: entry.namespace, ...rest }, message);
  };
}

// kafkajs builds its error exports dynamically, which Node's ESM named-export detection misses.
const { KafkaJSProtocolError } = kafkajs;
type KafkaJSProtocolError = InstanceType<typeof KafkaJSProtocolError>;

const MEMBERSHIP_ERRORS: Record<string, number> = { ILLEGAL_GENERATION: 22, UNKNOWN_MEMBER_ID: 25, REBALANCE_IN_PROGRESS: 27 };

/**
 * A commit refused because this member left the group (evicted after a missed session, or the
 * generation moved on). kafkajs's retrier wraps the broker's error in a KafkaJSNonRetriableError
 * without its type, and its runner then crashes the consumer for good instead of re-joining;
 * re-typed, the runner re-joins and the batch is fetched again from the last commit.
 */
export function membershipLost(err: unknown): KafkaJSProtocolError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const type = (e as { type?: unknown }).type;
    const byType = typeof type === 'string' && type in MEMBERSHIP_ERRORS ? type : undefined;
    const byText = /not aware of this member/i.test(e.message) ? 'UNKNOWN_MEMBER_ID' : /generation id is not valid/i.test(e.message) ? 'ILLEGAL_GENERATION' : /group is rebalancing/i.test(e.message) ? 'REBALANCE_IN_PROGRESS' : undefined;
    const found = byType ?? byText;
    if (found) return new KafkaJSProtocolError(Object.assign(new Error(`offset commit refused: ${e.message}`), { type: found, code: MEMBERSHIP_ERRORS[found] }));
  }
  return undefined;
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
        try {
          await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
        } catch (err) {
          throw membershipLost(err) ?? err;
        }
      },
    });
  }

  pause(): void {
    this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
  }

  resume(): void {
    this.consumer.resume(this.options.topics.map((topic) => ({ topic })));
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** MessageBus over kafkajs (pure JS, speaks the protocol versions Kafka 4 still accepts). */
export class KafkaJsBus implements MessageBus {
  private readonly kafka: Kafka;

  constructor(brokers: readonly string[], clientId: string, private readonly log: Logger) {
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
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    // kafkajs sends a heartbeat only when this much time passed since the last one; a third
    // of the session timeout leaves room for two missed beats before the group gives up on us.
    const heartbeatInterval = Math.min(3_000, Math.floor(sessionTimeout / 3));
    const consumer = this.kafka.consumer({ groupId: options.groupId, maxBytesPerPartition: 4 * 1024 * 1024, sessionTimeout, heartbeatInterval });
    await connectOrExplain(() => consumer.connect());
    if (options.onRevoked) reportRevocations(consumer, options.onRevoked, this.log);
    return new KafkaJsConsumer(consumer, options);
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const admin = this.kafka.admin();
    await connectOrExplain(() => admin.connect());
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) {
        try {
          await admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: t.replicationFactor, configEntries: t.configEntries })),
          });
        } catch (err) {
          // kafkajs gives up waiting for leaders when the broker's metadata does not list the
          // new topic yet (UNKNOWN_TOPIC_OR_PARTITION), as happens on a busy broker and more
          // often with many partitions; the topics were created, so wait for them here.
          if (!/does not host this topic-partition|no leader for this topic-partition|leadership election/i.test((err as Error).message)) throw err;
          await waitForLeaders(admin, missing.map((t) => t.topic), 30_000);
        }
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

/** Polls the metadata until every partition of `topics` has a leader. */
async function waitForLeaders(admin: ReturnType<Kafka['admin']>, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.length === topics.length && meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      last = 'partitions without a leader';
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new NovaError('KAFKA_TOPIC_NOT_READY', `topics ${topics.join(', ')} have no leader after ${timeoutMs} ms (${last}); check the brokers' logs, then run the command again`, { retriable: true });
}

async function connectOrExplain(connect: () => Promise<void>): Promise<void> {
  try {
    await connect();
  } catch (cause) {
    throw new NovaError('KAFKA_UNREACHABLE', `cannot reach Kafka (${(cause as Error).message}); is the stack up? run: ./novacron stack up`, { retriable: true, cause });
  }
}

/**
 * kafkajs has no revoke callback: every join of the group (the eager protocol: all members
 * rejoin on a rebalance) announces the member's whole new assignment, so what it had before and
 * lost is the difference.
 */
function reportRevocations(consumer: Consumer, onRevoked: (partitions: readonly TopicPartition[]) => void, log: Logger): void {
  let held = new Map<string, TopicPartition>();
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const now = new Map(Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => [topicPartitionKey(topic, partition), { topic, partition }] as const)));
    const lost = [...held].filter(([k]) => !now.has(k)).map(([, p]) => p);
    held = now;
    if (lost.length === 0) return;
    try {
      onRevoked(lost);
    } catch (err) {
      log.warn({ err }, 'kafka: the revoked-partitions callback failed');
    }
  });
}
