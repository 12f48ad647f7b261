/**
 * The MessageBus port: the only way data moves between stages. Adapters (kafkajs today,
 * node-rdkafka later) sit beside it; a composition root picks one from config.
 */
export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface IncomingMessage {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  offset: string;
  /** Broker timestamp, ms since epoch. */
  timestamp: number;
}

export interface IncomingBatch {
  topic: string;
  partition: number;
  messages: IncomingMessage[];
}

export interface BusProducer {
  /** Sends all messages (acks=all); resolves once the broker has them. */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  /** How long the group waits for a silent member before it rebalances (adapter default when absent). */
  sessionTimeoutMs?: number;
  /**
   * Rounds of batches start at most this often, ms: a fetch that finds messages keeps collecting
   * until this long after the previous round was handed out (or the round is full). Fewer, larger
   * rounds mean fewer, larger QuestDB transactions, each of which has a fixed cost; the price is
   * up to this much more latency. 0 or absent: take what is queued at once. The rdkafka adapter
   * paces; kafkajs hands batches out as its fetches bring them.
   */
  minRoundMs?: number;
  /**
   * Called after a rebalance took partitions from this member (another member reads them now):
   * what the member kept per partition can go. Errors it throws are logged, not raised.
   */
  onRevoked?: (partitions: readonly TopicPartition[]) => void;
}

/** One partition of one topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A string naming one partition of one topic, for maps and sets keyed by partition. */
export const topicPartitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * Called once per fetched batch. When it resolves, the batch's offsets are committed;
 * when it throws, nothing is committed and the batch is delivered again.
 */
export type BatchHandler = (batch: IncomingBatch, heartbeat: () => Promise<void>) => Promise<void>;

export interface BusConsumer {
  start(handler: BatchHandler): Promise<void>;
  close(): Promise<void>;
  /**
   * Stops fetching from every subscribed topic (the member stays in the group; the running
   * handler goes on). Optional: a consumer without it simply keeps its fetch position.
   */
  pause?(): void;
  /** Fetches again after `pause`. */
  resume?(): void;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Copies of each partition (broker default when absent). */
  replicationFactor?: number;
  /** Topic-level configs, e.g. min.insync.replicas. */
  configEntries?: { name: string; value: string }[];
}

export interface MessageBus {
  producer(): Promise<BusProducer>;
  consumer(options: ConsumerOptions): Promise<BusConsumer>;
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(topics: string[]): Promise<void>;
  /** Sum over partitions of the committed offset lag of `groupId` on `topic`. */
  consumerLag(groupId: string, topic: string): Promise<number>;
}
