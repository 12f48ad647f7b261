import { randomBytes } from 'node:crypto';
import { createBus, createLogger, loadConfig, questdbPgUrl, QuestDbClient, topicsFor, type Config, type IncomingMessage, type MessageBus } from '../../core/index.ts';

/**
 * A config whose topics and tables belong to one test only (unique prefixes), against the
 * real servers that `./novacron stack up` started (ports from the environment).
 */
export function isolatedConfig(extra: Record<string, string> = {}): Config {
  const id = randomBytes(4).toString('hex');
  return loadConfig(process.env, {
    NOVACRON_TOPIC_PREFIX: `t${id}`,
    NOVACRON_TABLE_PREFIX: `t${id}_`,
    NOVACRON_LOG_LEVEL: process.env.NOVACRON_LOG_LEVEL ?? 'warn',
    ...extra,
  });
}

export function testLogger() {
  return createLogger('test', process.env.NOVACRON_LOG_LEVEL ?? 'warn');
}

export function busFor(config: Config): MessageBus {
  return createBus(config, testLogger());
}

export function questdbFor(config: Config): QuestDbClient {
  return new QuestDbClient(questdbPgUrl(config));
}

/** Reads every message of `topic` from the beginning until `count` arrived or `timeoutMs` passed. */
export async function readTopic(bus: MessageBus, topic: string, count: number, timeoutMs = 30_000): Promise<IncomingMessage[]> {
  return readTopicUntil(bus, topic, (got) => got.length >= count, timeoutMs);
}

/** Reads a topic from the beginning until `enough` says so or the timeout passes (e.g. until so many samples, whatever the messages hold). */
export async function readTopicUntil(bus: MessageBus, topic: string, enough: (got: readonly IncomingMessage[]) => boolean, timeoutMs = 30_000): Promise<IncomingMessage[]> {
  const got: IncomingMessage[] = [];
  const consumer = await bus.consumer({ groupId: `reader-${randomBytes(4).toString('hex')}`, topics: [topic], fromBeginning: true });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.start(async (batch) => {
    got.push(...batch.messages);
    if (enough(got)) done();
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, timeoutMs))]);
  await consumer.close();
  return got;
}

/** Polls until `check` returns true or the timeout passes; returns the last value seen. */
export async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!check(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    last = await read();
  }
  return last;
}

export { topicsFor };
