import type { BusProducer, MessageBus } from './bus.ts';
import type { Config } from './config.ts';
import { NovaError } from './errors.ts';
import { KafkaJsBus } from './kafkajs-bus.ts';
import type { Logger } from './logger.ts';
import { loadRdKafka, RdKafkaBus, type RdKafkaModule } from './rdkafka-bus.ts';

function kafkajs(config: Config, log: Logger): MessageBus {
  return new KafkaJsBus(config.kafka.brokers, config.kafka.clientId, log);
}

/** What createBus needs from outside the config: how node-rdkafka is loaded (tests replace it to act out a machine where it did not build). */
export interface BusDeps {
  loadRdKafka: () => RdKafkaModule;
}

function rdkafka(config: Config, log: Logger, deps: BusDeps): MessageBus {
  return new RdKafkaBus({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, compression: config.kafka.compression }, log, deps.loadRdKafka());
}

type AdapterName = 'kafkajs' | 'rdkafka';

let warnedFallback = false;

/**
 * The adapter a setting names: 'auto' is node-rdkafka where it loads (faster here, and the only
 * one that lost nothing when a broker was killed), else kafkajs with one warning per process.
 */
function resolveAdapter(wanted: AdapterName | 'auto', config: Config, log: Logger, deps: BusDeps): { name: AdapterName; bus?: MessageBus } {
  if (wanted !== 'auto') return { name: wanted };
  try {
    return { name: 'rdkafka', bus: rdkafka(config, log, deps) };
  } catch (err) {
    if (!(err instanceof NovaError && err.code === 'KAFKA_CLIENT_MISSING')) throw err;
    if (!warnedFallback) log.warn({ code: err.code }, 'node-rdkafka is not installed: Kafka clients use kafkajs (slower, and it lost acknowledged records when a broker was killed; docs/kafka-clients.md)');
    warnedFallback = true;
    return { name: 'kafkajs' };
  }
}

function build(adapter: { name: AdapterName; bus?: MessageBus }, config: Config, log: Logger, deps: BusDeps): MessageBus {
  return adapter.bus ?? (adapter.name === 'rdkafka' ? rdkafka(config, log, deps) : kafkajs(config, log));
}

/**
 * Builds the MessageBus the config asks for: consumers and admin calls through kafka.client
 * (NOVACRON_KAFKA_CLIENT), producers through kafka.producerClient (NOVACRON_KAFKA_PRODUCER_CLIENT);
 * both default to auto = node-rdkafka where it built, else kafkajs. node-rdkafka is an optional
 * dependency, loaded only when chosen; asking for it by name where it is missing is a
 * KAFKA_CLIENT_MISSING error that says how to install it.
 */
export function createBus(config: Config, log: Logger, deps: BusDeps = { loadRdKafka: () => loadRdKafka() }): MessageBus {
  const mainAdapter = resolveAdapter(config.kafka.client, config, log, deps);
  const main = build(mainAdapter, config, log, deps);
  // 'auto' producers follow consumers that are node-rdkafka or were 'auto' themselves (resolved once:
  // where node-rdkafka did not build, loading it again would fail again).
  const sameAsMain = config.kafka.producerClient === 'auto' && (mainAdapter.name === 'rdkafka' || config.kafka.client === 'auto');
  const producerAdapter = sameAsMain ? mainAdapter : resolveAdapter(config.kafka.producerClient, config, log, deps);
  if (producerAdapter.name === mainAdapter.name) return main;
  const producers = build(producerAdapter, config, log, deps);
  return {
    producer: (): Promise<BusProducer> => producers.producer(),
    consumer: (options) => main.consumer(options),
    ensureTopics: (topics) => main.ensureTopics(topics),
    deleteTopics: (topics) => main.deleteTopics(topics),
    consumerLag: (groupId, topic) => main.consumerLag(groupId, topic),
  };
}
