import { createRequire } from 'node:module';
import { topicPartitionKey, type BatchHandler, type BusConsumer, type BusProducer, type ConsumerOptions, type IncomingBatch, type MessageBus, type OutgoingMessage, type TopicPartition, type TopicSpec } from './bus.ts';
import { NovaError } from './errors.ts';
import type { Logger } from './logger.ts';

// The slice of node-rdkafka this adapter uses, typed here rather than imported: node-rdkafka is an
// optional dependency (it compiles librdkafka), and the tree must typecheck where it did not build.
interface RdError {
  message: string;
  code: number;
  isFatal?: boolean;
  isRetriable?: boolean;
}
type RdCallback<T> = (err: RdError | null | undefined, data: T) => void;
interface RdTopicPartition {
  topic: string;
  partition: number;
  offset?: number;
  /** Per-partition failure, in offset_commit_cb's list. */
  error?: RdError;
}
interface RdMessage {
  topic: string;
  partition: number;
  offset: number;
  key?: Buffer | string | null;
  value: Buffer | null;
  timestamp?: number;
  headers?: Record<string, Buffer | string>[];
}
interface RdMetadata {
  topics: { name: string; partitions: { id: number; leader: number }[] }[];
}
interface RdLogEvent {
  severity: number;
  fac: string;
  message: string;
}
interface RdClient {
  connect(options: { timeout?: number; topic?: string; allTopics?: boolean }, cb: (err: RdError | null | undefined) => void): void;
  disconnect(cb: (err?: unknown) => void): void;
  getMetadata(options: { topic?: string; allTopics?: boolean; timeout?: number }, cb: RdCallback<RdMetadata>): void;
  queryWatermarkOffsets(topic: string, partition: number, timeout: number, cb: RdCallback<{ lowOffset: number; highOffset: number }>): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
}
interface RdProducer extends RdClient {
  produce(topic: string, partition: number | null, value: Buffer | null, key: string | null, timestamp: number | null, opaque: unknown, headers?: Record<string, string>[]): unknown;
  poll(): unknown;
  flush(timeout: number, cb: (err?: RdError | null) => void): unknown;
}
interface RdConsumer extends RdClient {
  subscribe(topics: string[]): unknown;
  consume(count: number, cb: RdCallback<RdMessage[]>): void;
  setDefaultConsumeTimeout(ms: number): void;
  assign(partitions: RdTopicPartition[]): unknown;
  unassign(): unknown;
  incrementalAssign(partitions: RdTopicPartition[]): unknown;
  incrementalUnassign(partitions: RdTopicPartition[]): unknown;
  rebalanceProtocol(): string;
  assignments(): RdTopicPartition[];
  commitSync(offsets: RdTopicPartition[]): unknown;
  commit(offsets: RdTopicPartition[]): unknown;
  committed(partitions: RdTopicPartition[], timeout: number, cb: RdCallback<RdTopicPartition[]>): unknown;
  seek(position: RdTopicPartition, timeout: number, cb: (err?: RdError | null) => void): unknown;
  pause(partitions: RdTopicPartition[]): unknown;
  resume(partitions: RdTopicPartition[]): unknown;
}
interface RdAdmin {
  createTopic(topic: { topic: string; num_partitions: number; replication_factor: number; config?: Record<string, string> }, timeout: number, cb: (err?: RdError | null) => void): void;
  deleteTopic(topic: string, timeout: number, cb: (err?: RdError | null) => void): void;
  disconnect(): void;
}
type Conf = Record<string, string | number | boolean | ((...args: never[]) => void)>;
/** What `require('node-rdkafka')` gives (the part used here). */
export interface RdKafkaModule {
  Producer: new (conf: Conf, topicConf?: Conf) => RdProducer;
  KafkaConsumer: new (conf: Conf, topicConf?: Conf) => RdConsumer;
  AdminClient: { create(conf: Conf): RdAdmin };
  features: string[];
  librdkafkaVersion: string;
}

/** librdkafka's error codes this adapter acts on (rdkafka.h: negative = local, positive = broker). */
const ERR = {
  REVOKE_PARTITIONS: -174,
  ASSIGN_PARTITIONS: -175,
  QUEUE_FULL: -184,
  MSG_SIZE_TOO_LARGE: 10,
  UNKNOWN_TOPIC_OR_PART: 3,
  TOPIC_ALREADY_EXISTS: 36,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  STATE: -172,
  // Local errors meaning no broker answered: none reachable, a dropped connection, or a request that timed out.
  TIMED_OUT: -185,
  TRANSPORT: -195,
  ALL_BROKERS_DOWN: -187,
} as const;

const NO_BROKER_ANSWER: ReadonlySet<number> = new Set([ERR.TIMED_OUT, ERR.TRANSPORT, ERR.ALL_BROKERS_DOWN]);

/** Biggest record (key + value + headers) a producer accepts; the broker's own default is 1048588. */
export const MAX_MESSAGE_BYTES = 1_000_000;
/**
 * Messages one consume round takes from librdkafka's queue (then grouped by partition, the
 * partitions handled side by side). Not small: each partition's share is one handler call and
 * one commit, and with 16 partitions a round of 1,000 gave batches of ~60 samples. Not large
 * either: a worker holds a whole round decoded at once (a host tick is ~9 samples); at 10,000
 * two saturated workers peaked at 1,989 MiB RSS, at 4,000 at 1,318 MiB for the same throughput.
 */
const CONSUME_BATCH = 4_000;
/** How long one consume round waits for its first message; bounds close() and pause reaction. */
const CONSUME_WAIT_MS = 250;
/**
 * Longest a batch handler may run: librdkafka's background thread heartbeats on its own, so a slow
 * handler does not cost the membership (unlike kafkajs, which beats only when asked), but a member
 * that does not call consume for this long is taken out of the group.
 */
export const MAX_POLL_INTERVAL_MS = 300_000;
/** The consumer's prefetch queue: at least this many messages (librdkafka default 100,000) … */
export const RDKAFKA_PREFETCH_MESSAGES = 10_000;
/** … and at most this many KiB (default 65,536). */
export const RDKAFKA_PREFETCH_KIB = 16_384;
const OP_TIMEOUT_MS = 30_000;

export type Compression = 'lz4' | 'zstd' | 'none';

export interface RdKafkaBusOptions {
  brokers: readonly string[];
  clientId: string;
  compression: Compression;
}

const INSTALL_HINT =
  'build it with: npm_config_nodedir=$(dirname $(dirname $(readlink -f $(which node)))) npm i node-rdkafka@3 ' +
  '(compiles the bundled librdkafka, ~2-4 min; needs gcc/g++, make and python3), or set NOVACRON_KAFKA_CLIENT=kafkajs';

/** Loads node-rdkafka (an optional dependency) or says how to install it. */
export function loadRdKafka(load: (id: string) => unknown = createRequire(import.meta.url)): RdKafkaModule {
  try {
    return load('node-rdkafka') as RdKafkaModule;
  } catch (cause) {
    throw new NovaError('KAFKA_CLIENT_MISSING', `kafka.client is 'rdkafka' (NOVACRON_KAFKA_CLIENT) but node-rdkafka is not installed or did not build (${(cause as Error).message.split('\n')[0]}); ${INSTALL_HINT}`, { cause });
  }
}

/** The pino level for a librdkafka log line (syslog severities: 0-3 error, 4 warning, 5-6 notice/info, 7 debug). */
export function rdkafkaLogLevel(severity: number): 'error' | 'warn' | 'info' | 'debug' {
  if (severity <= 3) return 'error';
  if (severity === 4) return 'warn';
  if (severity <= 6) return 'info';
  return 'debug';
}

/** librdkafka's headers (one single-key object each, values as bytes) as the port's string map. */
export function toHeaders(raw: Record<string, Buffer | string>[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const header of raw ?? []) {
    for (const [k, v] of Object.entries(header)) out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

/** Size librdkafka counts against message.max.bytes for one record (key + value + headers). */
export function recordBytes(m: OutgoingMessage): number {
  let n = (m.value?.length ?? 0) + (m.key === null ? 0 : Buffer.byteLength(m.key));
  for (const [k, v] of Object.entries(m.headers ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  return n;
}

/** One consume round's messages, grouped by topic-partition in fetch order. */
export function groupByPartition(messages: RdMessage[]): IncomingBatch[] {
  const groups = new Map<string, IncomingBatch>();
  for (const m of messages) {
    const key = topicPartitionKey(m.topic, m.partition);
    let batch = groups.get(key);
    if (!batch) groups.set(key, (batch = { topic: m.topic, partition: m.partition, messages: [] }));
    batch.messages.push({
      key: m.key === undefined || m.key === null ? null : Buffer.isBuffer(m.key) ? m.key.toString('utf8') : m.key,
      value: m.value,
      headers: toHeaders(m.headers),
      offset: String(m.offset),
      timestamp: m.timestamp ?? 0,
    });
  }
  return [...groups.values()];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function routeLogs(client: RdClient, log: Logger, role: string): void {
  client.on('event.log', ((e: RdLogEvent) => log[rdkafkaLogLevel(e.severity)]({ rdkafka: role, fac: e.fac }, e.message)) as (...args: never[]) => void);
  // librdkafka retries transport errors itself; only fatal ones (idempotence broken) are errors.
  client.on('event.error', ((e: RdError) => log[e.isFatal ? 'error' : 'warn']({ rdkafka: role, code: e.code }, e.message)) as (...args: never[]) => void);
}

function connect(client: RdClient, what: string, extra: { topic?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) =>
    client.connect({ timeout: 10_000, ...extra }, (err) =>
      err
        ? reject(new NovaError('KAFKA_UNREACHABLE', `cannot reach Kafka with node-rdkafka's ${what} (${err.message}); is the stack up? run: ./novacron stack up`, { retriable: true, cause: err }))
        : resolve(),
    ),
  );
}

function disconnect(client: RdClient): Promise<void> {
  return new Promise((resolve) => client.disconnect(() => resolve()));
}

function call<T>(run: (cb: RdCallback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    run((err, data) => (err ? reject(err) : resolve(data)));
  });
}

/** Messages of one send(): settles when each has its delivery report. */
class Delivery {
  remaining: number;
  error: NovaError | undefined;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (err: NovaError) => void;

  constructor(count: number) {
    this.remaining = count;
    this.done = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // The caller awaits `done`; this keeps an early failure from counting as unhandled meanwhile.
    this.done.catch(() => undefined);
  }

  /** Counts `n` messages as settled (failed when `err`). */
  settle(n: number, err?: NovaError): boolean {
    if (err && !this.error) this.error = err;
    this.remaining -= n;
    if (this.remaining > 0) return false;
    if (this.error) this.reject(this.error);
    else this.resolve();
    return true;
  }
}

// node-rdkafka hands delivery-report errors over with code -1 and librdkafka's text; match both.
function deliveryError(err: RdError, topic: string): NovaError {
  if (err.code === ERR.MSG_SIZE_TOO_LARGE || /message size too large/i.test(err.message)) {
    return new NovaError('KAFKA_MESSAGE_TOO_LARGE', `Kafka refused a message to ${topic} as too large (${err.message}); keep records under the topic's max.message.bytes or raise it`, { cause: err });
  }
  if (err.code === ERR.UNKNOWN_TOPIC_OR_PART || /unknown topic or partition/i.test(err.message)) {
    return new NovaError('KAFKA_UNKNOWN_TOPIC', `topic ${topic} does not exist (${err.message}); create it first (./novacron stack up creates NovaCron's topics)`, { cause: err });
  }
  return new NovaError('KAFKA_DELIVERY_FAILED', `a message to ${topic} was not delivered (${err.message}, code ${err.code}); ${err.isRetriable ? 'sending again may succeed' : 'check the broker log'}`, { retriable: err.isRetriable ?? true, cause: err });
}

class RdKafkaProducer implements BusProducer {
  private readonly pending = new Set<Delivery>();
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly producer: RdProducer) {
    producer.on('delivery-report', ((err: RdError | null | undefined, report: { topic: string; opaque?: unknown }) => {
      const delivery = report?.opaque;
      if (!(delivery instanceof Delivery)) return;
      if (delivery.settle(1, err ? deliveryError(err, report.topic) : undefined)) this.finished(delivery);
    }) as (...args: never[]) => void);
    // A fatal error (e.g. the idempotent producer's sequence broke) ends every pending send.
    producer.on('event.error', ((err: RdError) => {
      if (!err.isFatal) return;
      for (const d of [...this.pending]) {
        d.settle(d.remaining, new NovaError('KAFKA_PRODUCER_FATAL', `the producer hit a fatal error (${err.message}); create a new producer`, { cause: err }));
        this.finished(d);
      }
    }) as (...args: never[]) => void);
  }

  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (this.closed) throw new NovaError('KAFKA_PRODUCER_CLOSED', 'send() after close(); create a new producer');
    // Checked up front so that a send either goes out whole or not at all for this reason.
    for (const m of messages) {
      const bytes = recordBytes(m);
      if (bytes > MAX_MESSAGE_BYTES) {
        throw new NovaError('KAFKA_MESSAGE_TOO_LARGE', `a ${bytes}-byte message to ${topic} is over the ${MAX_MESSAGE_BYTES}-byte limit; split it (or raise message.max.bytes on the client and the topic)`);
      }
    }
    const delivery = new Delivery(messages.length);
    this.pending.add(delivery);
    this.startPolling();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const headers = m.headers ? Object.entries(m.headers).map(([k, v]) => ({ [k]: v })) : undefined;
      for (;;) {
        try {
          this.producer.produce(topic, null, m.value, m.key, null, delivery, headers);
          break;
        } catch (err) {
          // librdkafka's local queue is full: let delivery reports drain it, then go on.
          if ((err as RdError).code === ERR.QUEUE_FULL) {
            this.producer.poll();
            await sleep(2);
            continue;
          }
          const nova = (err as RdError).code === ERR.MSG_SIZE_TOO_LARGE ? deliveryError(err as RdError, topic) : new NovaError('KAFKA_PRODUCE_FAILED', `cannot queue a message for ${topic} (${(err as Error).message})`, { cause: err });
          // The messages already queued still report; the rest never will.
          if (delivery.settle(messages.length - i, nova)) this.finished(delivery);
          return delivery.done;
        }
      }
    }
    return delivery.done;
  }

  private finished(delivery: Delivery): void {
    this.pending.delete(delivery);
    if (this.pending.size === 0 && this.poller) {
      clearInterval(this.poller);
      this.poller = undefined;
    }
  }

  // Delivery reports reach JS only when the producer is polled; poll only while sends wait for them.
  private startPolling(): void {
    if (this.poller) return;
    this.poller = setInterval(() => {
      try {
        this.producer.poll();
      } catch {
        // Disconnected: the pending sends fail through their delivery reports or close().
      }
    }, 5);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.pending].map((d) => d.done));
    if (this.poller) clearInterval(this.poller);
    await new Promise<void>((resolve) => this.producer.flush(10_000, () => resolve()));
    await disconnect(this.producer);
  }
}

/**
 * A KafkaConsumer in a loop: consume a round of messages, hand them out per partition (the
 * partitions side by side, each one batch at a time), commit
 * each batch's next offset once its handler resolved. Partition ownership is tracked from the
 * rebalance callback so that nothing is handled or committed for a partition after it was given up.
 */
class RdKafkaConsumer implements BusConsumer {
  /** Partitions this member owns, each with the epoch it was assigned in (a re-assignment is a new epoch). */
  private readonly owned = new Map<string, number>();
  /** Partitions being revoked: the batch in flight may finish and commit, no new one starts. */
  private readonly revoking = new Set<string>();
  private epochs = 0;
  private queue: { batch: IncomingBatch; epoch: number }[] = [];
  /**
   * Next offsets of handled batches not yet known committed: sent (`inFlight`, awaiting
   * offset_commit_cb), or refused by the coordinator mid-rebalance and committed again once the
   * member has its new generation.
   */
  private readonly uncommitted = new Map<string, { topic: string; partition: number; offset: number; epoch: number; inFlight?: number; warned?: boolean }>();
  /** Batches being handled, by partition key (at most one per partition). */
  private readonly inflight = new Map<string, Promise<void>>();
  private running = false;
  private paused = false;
  private loop: Promise<void> | undefined;
  consumer!: RdConsumer;

  constructor(
    private readonly log: Logger,
    private readonly options: ConsumerOptions,
  ) {}

  attach(consumer: RdConsumer): void {
    this.consumer = consumer;
  }

  /** Partitions this member was last given, to tell which a rebalance took away. */
  private readonly held = new Map<string, TopicPartition>();

  /** Tells the owner which partitions left this member (ConsumerOptions.onRevoked). */
  private reportLost(lost: readonly TopicPartition[]): void {
    for (const p of lost) this.held.delete(topicPartitionKey(p.topic, p.partition));
    if (lost.length === 0 || !this.options.onRevoked) return;
    try {
      this.options.onRevoked(lost);
    } catch (e) {
      this.log.warn({ err: e }, 'kafka: the revoked-partitions callback failed');
    }
  }

  onRebalance(err: RdError | undefined, partitions: RdTopicPartition[]): void {
    const cooperative = this.consumer.rebalanceProtocol() === 'COOPERATIVE';
    const list = partitions.map((p) => `${p.topic}[${p.partition}]`).join(', ') || 'none';
    try {
      if (err?.code === ERR.ASSIGN_PARTITIONS) {
        for (const p of partitions) this.owned.set(topicPartitionKey(p.topic, p.partition), ++this.epochs);
        if (!cooperative) {
          const assigned = new Set(partitions.map((p) => topicPartitionKey(p.topic, p.partition)));
          this.reportLost([...this.held.values()].filter((p) => !assigned.has(topicPartitionKey(p.topic, p.partition))));
        }
        for (const p of partitions) this.held.set(topicPartitionKey(p.topic, p.partition), { topic: p.topic, partition: p.partition });
        if (cooperative) this.consumer.incrementalAssign(partitions);
        else this.consumer.assign(partitions);
        if (this.paused && partitions.length > 0) this.consumer.pause(partitions);
        // Routine: members come and go; info, not an error.
        this.log.info({ group: this.options.groupId, partitions: list }, 'kafka rebalance: partitions assigned');
      } else if (err?.code === ERR.REVOKE_PARTITIONS) {
        const keys = partitions.map((p) => topicPartitionKey(p.topic, p.partition));
        for (const k of keys) this.revoking.add(k);
        const release = () => {
          // Still the owner until unassign: what was handled but refused mid-rebalance is committed now.
          this.commitPending(keys);
          for (const k of keys) {
            this.uncommitted.delete(k);
            this.owned.delete(k);
            this.revoking.delete(k);
          }
          this.queue = this.queue.filter((q) => !keys.includes(topicPartitionKey(q.batch.topic, q.batch.partition)));
          try {
            if (cooperative) this.consumer.incrementalUnassign(partitions);
            else this.consumer.unassign();
          } catch (e) {
            this.log.debug({ err: e }, 'kafka unassign after close');
          }
          this.log.info({ group: this.options.groupId, partitions: list }, 'kafka rebalance: partitions revoked');
          // Cooperative: what is revoked is gone. Eager: everything is revoked, and what is not
          // assigned back is gone (reported on the assignment).
          if (cooperative) this.reportLost(partitions.map((p) => ({ topic: p.topic, partition: p.partition })));
        };
        // The member still owns the partitions until it unassigns: the batch being handled
        // finishes and commits first, so its messages are not handed to the next owner again.
        const handling = keys.flatMap((k) => this.inflight.get(k) ?? []);
        if (handling.length > 0) void Promise.allSettled(handling).then(release);
        else release();
      } else {
        this.log.warn({ group: this.options.groupId, code: err?.code, err: err?.message }, 'kafka rebalance error');
      }
    } catch (e) {
      this.log.warn({ err: e, group: this.options.groupId }, 'kafka rebalance callback failed');
    }
  }

  async start(handler: BatchHandler): Promise<void> {
    if (this.running) throw new NovaError('KAFKA_CONSUMER_STARTED', 'start() was called twice on one consumer; create another consumer');
    this.consumer.subscribe([...this.options.topics]);
    this.running = true;
    this.loop = this.run(handler);
  }

  private owns(key: string, epoch: number): boolean {
    return this.owned.get(key) === epoch && !this.revoking.has(key);
  }

  private async run(handler: BatchHandler): Promise<void> {
    while (this.running) {
      if (this.uncommitted.size > 0) this.commitPending(undefined, 'async');
      if (this.paused || this.queue.length === 0) {
        // While paused, consuming still goes on (paused partitions give nothing): a member that
        // stops calling consume for max.poll.interval.ms is taken out of the group.
        const fetched = await this.fetch();
        for (const batch of groupByPartition(fetched)) {
          const epoch = this.owned.get(topicPartitionKey(batch.topic, batch.partition));
          if (epoch !== undefined) this.queue.push({ batch, epoch });
        }
        continue;
      }
      // The next batch of every partition, handled side by side (one at a time per partition, so
      // each partition's batches still go in order and commit in order). Why: the worker's store
      // merges the writes started together into one QuestDB transaction per table
      // (streams/coalescing-store.ts); one batch at a time made a transaction per partition and
      // fetch, and QuestDB's per-transaction cost was the pipeline's limit (bench:ingest, 16 vs 4
      // partitions: 72k vs 88k samples/s).
      const round = this.nextRound();
      await Promise.all(round.map(({ batch, epoch }) => {
        const key = topicPartitionKey(batch.topic, batch.partition);
        if (!this.owns(key, epoch)) return undefined;
        const done = this.handle(handler, batch, key, epoch);
        this.inflight.set(key, done);
        return done.finally(() => this.inflight.delete(key));
      }));
    }
  }

  /** Takes the first queued batch of each partition off the queue, in queue order. */
  private nextRound(): { batch: IncomingBatch; epoch: number }[] {
    const round: { batch: IncomingBatch; epoch: number }[] = [];
    const taken = new Set<string>();
    const rest: typeof this.queue = [];
    for (const entry of this.queue) {
      const key = topicPartitionKey(entry.batch.topic, entry.batch.partition);
      if (taken.has(key)) rest.push(entry);
      else {
        taken.add(key);
        round.push(entry);
      }
    }
    this.queue = rest;
    return round;
  }

  /** When the last round was handed out (performance.now()): the next is not due before minRoundMs after it. */
  private roundStarted = Number.NEGATIVE_INFINITY;

  private async fetch(): Promise<RdMessage[]> {
    try {
      // Wait for one message, then take whatever else is already queued, without waiting: a
      // trickle of messages is handed out at once instead of waiting for a full batch.
      const first = await this.consume(1, CONSUME_WAIT_MS);
      if (first.length === 0 || !this.running) return first;
      const out = first.concat(await this.consume(CONSUME_BATCH - 1, 0));
      // Paced rounds (ConsumerOptions.minRoundMs): keep collecting until the round is due.
      const deadline = this.roundStarted + (this.options.minRoundMs ?? 0);
      while (out.length < CONSUME_BATCH && this.running && performance.now() < deadline) {
        await sleep(Math.min(20, deadline - performance.now()));
        out.push(...(await this.consume(CONSUME_BATCH - out.length, 0)));
      }
      this.roundStarted = performance.now();
      return out;
    } catch (err) {
      if (!this.running) return [];
      this.log.warn({ group: this.options.groupId, code: (err as RdError).code, err: (err as Error).message }, 'kafka consume failed; retrying');
      await sleep(1_000);
      return [];
    }
  }

  private consume(count: number, waitMs: number): Promise<RdMessage[]> {
    this.consumer.setDefaultConsumeTimeout(waitMs);
    return call<RdMessage[]>((cb) => this.consumer.consume(count, cb)).then((m) => m ?? []);
  }

  private async handle(handler: BatchHandler, batch: IncomingBatch, key: string, epoch: number): Promise<void> {
    const first = batch.messages[0]!.offset;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    // librdkafka heartbeats from its own thread, so heartbeat() sends nothing; it tells a handler
    // that holds on to its batch (retrying a failing sink) that the partition is being revoked,
    // as kafkajs's heartbeat does, so that it can hand the batch back instead of stalling the group.
    const heartbeat = async () => {
      if (this.revoking.has(key)) {
        throw new NovaError('KAFKA_REBALANCING', `the group is rebalancing (REBALANCE_IN_PROGRESS) and ${batch.topic}[${batch.partition}] is being revoked; finish the batch or hand it back`, { retriable: true });
      }
    };
    try {
      await handler(batch, heartbeat);
    } catch (err) {
      const leaving = this.revoking.has(key) || this.owned.get(key) !== epoch;
      this.log[leaving ? 'info' : 'warn']({ err, topic: batch.topic, partition: batch.partition, offset: first }, 'batch handler failed; the batch will be delivered again');
      // Nothing committed; rewind to the batch's first message (queued later ones go too).
      this.queue = this.queue.filter((q) => topicPartitionKey(q.batch.topic, q.batch.partition) !== key);
      // A partition on its way out needs neither: its next owner starts at the last commit.
      if (leaving) return;
      await call<void>((cb) => this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: Number(first) }, 5_000, (e) => cb(e, undefined))).catch((e: RdError) =>
        this.log.info({ topic: batch.topic, partition: batch.partition, err: e.message }, 'kafka seek after a failed batch did not happen; the committed offset stands'),
      );
      // A failing handler (sink down) is not retried in a tight loop.
      await sleep(1_000);
      return;
    }
    if (this.owned.get(key) !== epoch) {
      this.log.info({ topic: batch.topic, partition: batch.partition }, 'partition was given up while its batch was handled; not committed (its next owner reads it again)');
      return;
    }
    this.uncommitted.set(key, { topic: batch.topic, partition: batch.partition, offset: Number(BigInt(last) + 1n), epoch });
    this.commitPending([key], 'async');
  }

  /**
   * Commits the next offsets of handled batches (of `keys`, or all) of partitions still owned in the
   * same epoch. A coordinator in the middle of a rebalance refuses commits of the old generation
   * (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS): those stay pending and go again on the next
   * round, by then under the new generation, so a partition the member keeps is not read twice.
   * After each batch the commit is sent without waiting ('async': librdkafka answers through
   * offset_commit_cb, see onCommitted): commitSync there blocked the event loop for a broker
   * round trip per batch, 30 % of a busy worker's main thread. Before partitions are given up
   * (revoke) and at close it waits ('sync'): the next owner must start after them.
   */
  private commitPending(keys: Iterable<string> = [...this.uncommitted.keys()], mode: 'sync' | 'async' = 'sync'): void {
    for (const key of keys) {
      const c = this.uncommitted.get(key);
      if (!c) continue;
      if (this.owned.get(key) !== c.epoch) {
        this.uncommitted.delete(key);
        continue;
      }
      const offsets = [{ topic: c.topic, partition: c.partition, offset: c.offset }];
      try {
        if (mode === 'async') {
          if (c.inFlight === c.offset) continue;
          this.consumer.commit(offsets);
          c.inFlight = c.offset;
        } else {
          this.consumer.commitSync(offsets);
          this.uncommitted.delete(key);
        }
      } catch (err) {
        this.commitRefused(c, err as RdError);
      }
    }
  }

  /** librdkafka's answer to commits sent with commit() (offset_commit_cb). */
  onCommitted(err: RdError | null | undefined, offsets: RdTopicPartition[] | undefined): void {
    for (const o of offsets ?? []) {
      const key = topicPartitionKey(o.topic, o.partition);
      const c = this.uncommitted.get(key);
      // Done already (a sync commit), or a newer batch's offset is pending: that one goes next.
      if (!c || c.inFlight === undefined || o.offset === undefined || o.offset < c.inFlight) continue;
      const failure = err ?? o.error;
      if (!failure) {
        if (o.offset >= c.offset) this.uncommitted.delete(key);
        continue;
      }
      c.inFlight = undefined; // sent again on the next round
      this.commitRefused(c, failure);
    }
  }

  private commitRefused(c: { topic: string; partition: number; warned?: boolean }, err: RdError): void {
    const code = err.code;
    const routine = code === ERR.REBALANCE_IN_PROGRESS || code === ERR.ILLEGAL_GENERATION || code === ERR.UNKNOWN_MEMBER_ID || code === ERR.STATE;
    // Tried again every round: say it once.
    const level = routine || c.warned ? 'debug' : 'warn';
    c.warned = true;
    this.log[level]({ topic: c.topic, partition: c.partition, code, err: err.message }, 'kafka commit refused; kept to commit again');
  }

  pause(): void {
    this.paused = true;
    this.pauseOrResume('pause');
  }

  resume(): void {
    this.paused = false;
    this.pauseOrResume('resume');
  }

  // The flag above is what the loop obeys; librdkafka's pause also stops the fetching itself.
  private pauseOrResume(what: 'pause' | 'resume'): void {
    try {
      const assigned = this.consumer.assignments();
      if (assigned.length > 0) this.consumer[what](assigned);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, `kafka ${what} skipped (consumer not connected)`);
    }
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    this.commitPending();
    for (const c of this.uncommitted.values()) this.log.info({ topic: c.topic, partition: c.partition, offset: c.offset }, 'kafka commit still refused at close; the next owner reads from the last committed offset');
    await disconnect(this.consumer);
  }
}

/**
 * A failed admin call (`what`: "create topic x", "delete topic x") as our error. No broker
 * answering (librdkafka reports only a local timeout when none is up) is KAFKA_UNREACHABLE and
 * retriable, as kafkajs's adapter reports it: a spooling producer keeps going and connects again
 * later, where KAFKA_ADMIN_FAILED would end the run.
 */
function adminError(what: string, err: { message: string; code: number; isRetriable?: boolean }): NovaError {
  if (NO_BROKER_ANSWER.has(err.code)) {
    return new NovaError('KAFKA_UNREACHABLE', `cannot ${what}: no broker answered (${err.message}, code ${err.code}); is the stack up? run: ./novacron stack up`, { retriable: true, cause: err });
  }
  return new NovaError('KAFKA_ADMIN_FAILED', `cannot ${what} (${err.message}, code ${err.code})`, { retriable: err.isRetriable ?? false, cause: err });
}

/**
 * MessageBus over node-rdkafka (librdkafka): an idempotent, compressed, batching producer and a
 * KafkaConsumer that commits each batch after its handler. See docs/kafka-clients.md.
 */
export class RdKafkaBus implements MessageBus {
  private readonly kafka: RdKafkaModule;

  constructor(
    private readonly options: RdKafkaBusOptions,
    private readonly log: Logger,
    kafka: RdKafkaModule = loadRdKafka(),
  ) {
    this.kafka = kafka;
    if (options.compression !== 'none' && !kafka.features.includes(options.compression)) {
      throw new NovaError(
        'KAFKA_COMPRESSION_UNSUPPORTED',
        `kafka.compression is '${options.compression}' (NOVACRON_KAFKA_COMPRESSION) but this librdkafka build (${kafka.librdkafkaVersion}) has only ${kafka.features.join(', ')}; choose lz4 or none, or rebuild node-rdkafka with the codec's headers installed (zstd: libzstd-dev)`,
      );
    }
  }

  private common(): Conf {
    return {
      'metadata.broker.list': this.options.brokers.join(','),
      'client.id': this.options.clientId,
      'socket.keepalive.enable': true,
      // The broker closes idle connections (connections.max.idle.ms); librdkafka reconnects.
      'log.connection.close': false,
      event_cb: true,
    };
  }

  async producer(): Promise<BusProducer> {
    const producer = new this.kafka.Producer({
      ...this.common(),
      // Exactly once per partition across retries, and acks=all (idempotence implies it).
      'enable.idempotence': true,
      'compression.codec': this.options.compression,
      // Many ~150-byte samples: wait a little to fill batches, and let batches be large.
      'linger.ms': 5,
      'batch.num.messages': 10_000,
      'batch.size': 1_000_000,
      'queue.buffering.max.messages': 200_000,
      'message.max.bytes': MAX_MESSAGE_BYTES,
      // NovaCron creates its topics itself (ensureTopics); a typo must not create a topic.
      'allow.auto.create.topics': false,
      dr_cb: true,
    }, {
      // Topic-level properties: node-rdkafka's default topic config replaces any set globally.
      acks: -1,
      // A send gives up after a minute (librdkafka's default is five) so callers learn of an outage.
      'message.timeout.ms': 60_000,
      // Java's partitioner (murmur2): a key lands on the same partition as with kafkajs.
      partitioner: 'murmur2_random',
    });
    routeLogs(producer, this.log, 'producer');
    await connect(producer, 'producer');
    return new RdKafkaProducer(producer);
  }

  async consumer(options: ConsumerOptions): Promise<BusConsumer> {
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    const wrapper = new RdKafkaConsumer(this.log, options);
    const consumer = new this.kafka.KafkaConsumer(
      {
        ...this.common(),
        'group.id': options.groupId,
        // Offsets are committed by hand, after the handler resolved; never behind its back.
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'session.timeout.ms': sessionTimeout,
        'heartbeat.interval.ms': Math.min(3_000, Math.floor(sessionTimeout / 3)),
        'max.poll.interval.ms': MAX_POLL_INTERVAL_MS,
        // Round robin over every subscribed topic's partitions, as kafkajs assigns them, so each
        // member gets its share of every topic. Not cooperative-sticky: it balances partition
        // counts over all topics together, and left one of two workers with every partition of
        // the busy topic (host ticks) and the other with the idle ones (collectd, host samples).
        // The price: a rebalance revokes every partition for a moment (the eager protocol).
        'partition.assignment.strategy': 'roundrobin',
        // librdkafka prefetches up to 100,000 messages / 64 MiB by default: memory outside the V8
        // heap that a worker behind a backlog holds for nothing (the loop takes 1,000 at a time).
        'queued.min.messages': RDKAFKA_PREFETCH_MESSAGES,
        'queued.max.messages.kbytes': RDKAFKA_PREFETCH_KIB,
        rebalance_cb: ((err: RdError | undefined, partitions: RdTopicPartition[]) => wrapper.onRebalance(err, partitions)) as (...args: never[]) => void,
        offset_commit_cb: ((err: RdError | null | undefined, offsets: RdTopicPartition[] | undefined) => wrapper.onCommitted(err, offsets)) as (...args: never[]) => void,
      },
      { 'auto.offset.reset': options.fromBeginning === false ? 'latest' : 'earliest' },
    );
    wrapper.attach(consumer);
    routeLogs(consumer, this.log, 'consumer');
    await connect(consumer, 'consumer');
    return wrapper;
  }

  private admin(): RdAdmin {
    try {
      return this.kafka.AdminClient.create({ 'metadata.broker.list': this.options.brokers.join(','), 'client.id': this.options.clientId });
    } catch (cause) {
      throw new NovaError('KAFKA_UNREACHABLE', `cannot create node-rdkafka's admin client (${(cause as Error).message}); is the stack up? run: ./novacron stack up`, { retriable: true, cause });
    }
  }

  /** A plain client for metadata and watermarks (a consumer of `groupId` when committed offsets are wanted). */
  private async metadataClient(groupId?: string): Promise<RdConsumer> {
    const client = new this.kafka.KafkaConsumer({ ...this.common(), 'group.id': groupId ?? `${this.options.clientId}-metadata`, 'enable.auto.commit': false }, {});
    routeLogs(client, this.log, 'metadata');
    await connect(client, 'metadata client');
    return client;
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const admin = this.admin();
    try {
      for (const t of topics) {
        const config = t.configEntries ? Object.fromEntries(t.configEntries.map((c) => [c.name, c.value])) : undefined;
        await new Promise<void>((resolve, reject) =>
          admin.createTopic({ topic: t.topic, num_partitions: t.partitions, replication_factor: t.replicationFactor ?? -1, ...(config ? { config } : {}) }, OP_TIMEOUT_MS, (err) =>
            // Already there is what ensure means.
            !err || err.code === ERR.TOPIC_ALREADY_EXISTS ? resolve() : reject(adminError(`create topic ${t.topic}`, err)),
          ),
        );
      }
    } finally {
      admin.disconnect();
    }
    await this.waitForLeaders(topics);
  }

  // Like kafkajs's waitForLeaders: a producer or consumer started right after sees a usable topic.
  private async waitForLeaders(topics: TopicSpec[]): Promise<void> {
    const client = await this.metadataClient();
    try {
      const deadline = Date.now() + OP_TIMEOUT_MS;
      for (const t of topics) {
        for (;;) {
          const meta = await call<RdMetadata>((cb) => client.getMetadata({ topic: t.topic, timeout: 5_000 }, cb)).catch(() => undefined);
          const parts = meta?.topics.find((x) => x.name === t.topic)?.partitions ?? [];
          if (parts.length > 0 && parts.every((p) => p.leader >= 0)) break;
          if (Date.now() > deadline) throw new NovaError('KAFKA_ADMIN_FAILED', `topic ${t.topic} has no leader for every partition after ${OP_TIMEOUT_MS / 1000} s; check the brokers`, { retriable: true });
          await sleep(100);
        }
      }
    } finally {
      await disconnect(client);
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    const admin = this.admin();
    try {
      for (const topic of topics) {
        await new Promise<void>((resolve, reject) =>
          admin.deleteTopic(topic, OP_TIMEOUT_MS, (err) =>
            !err || err.code === ERR.UNKNOWN_TOPIC_OR_PART ? resolve() : reject(adminError(`delete topic ${topic}`, err)),
          ),
        );
      }
    } finally {
      admin.disconnect();
    }
  }

  async consumerLag(groupId: string, topic: string): Promise<number> {
    const client = await this.metadataClient(groupId);
    try {
      const meta = await call<RdMetadata>((cb) => client.getMetadata({ topic, timeout: 10_000 }, cb));
      const partitions = meta.topics.find((t) => t.name === topic)?.partitions ?? [];
      if (partitions.length === 0) throw new NovaError('KAFKA_UNKNOWN_TOPIC', `topic ${topic} does not exist; nothing to measure the lag of`);
      const committed = await call<RdTopicPartition[]>((cb) => client.committed(partitions.map((p) => ({ topic, partition: p.id })), 10_000, cb));
      const committedBy = new Map(committed.map((c) => [c.partition, c.offset ?? -1]));
      let lag = 0;
      for (const p of partitions) {
        const { lowOffset, highOffset } = await call<{ lowOffset: number; highOffset: number }>((cb) => client.queryWatermarkOffsets(topic, p.id, 10_000, cb));
        const c = committedBy.get(p.id) ?? -1;
        // No commit yet (librdkafka says -1001): everything still in the log is unread.
        lag += c < 0 ? highOffset - lowOffset : highOffset - c;
      }
      return lag;
    } finally {
      await disconnect(client);
    }
  }
}
