import type { BusProducer, MessageBus } from './bus.ts';
import type { Config } from './config.ts';
import { NovaError } from './errors.ts';
import { KafkaJsBus } from './kafkajs-bus.ts';
import type { Logger } from './logger.ts';
import { RdKafkaBus } from './rdkafka-bus.ts';

function kafkajs(config: Config, log: Logger): MessageBus {
  return new KafkaJsBus(config.kafka.brokers, config.kafka.clientId, log);
}

function rdkafka(config: Config, log: Logger): MessageBus {
  return new RdKafkaBus({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, compression: config.kafka.compression }, log);
}

let warnedFallback = false;

/** The adapter producers use: kafka.producerClient, where 'auto' is rdkafka when it loads, else kafkajs. */
function producerBus(config: Config, log: Logger, consumerSide: MessageBus): MessageBus {
  const wanted = config.kafka.producerClient;
  if (wanted === config.kafka.client) return consumerSide;
  if (wanted === 'kafkajs') return kafkajs(config, log);
  if (wanted === 'rdkafka') return rdkafka(config, log);
  try {
    return rdkafka(config, log);
  } catch (err) {
    if (!(err instanceof NovaError && err.code === 'KAFKA_CLIENT_MISSING')) throw err;
    if (!warnedFallback) log.warn({ code: err.code }, 'node-rdkafka is not installed: producers use kafkajs (slower, and it lost acknowledged records when a broker was killed; docs/kafka-clients.md)');
    warnedFallback = true;
    return config.kafka.client === 'kafkajs' ? consumerSide : kafkajs(config, log);
  }
}

/**
 * Builds the MessageBus the config asks for: consumers and admin calls through kafka.client
 * (NOVACRON_KAFKA_CLIENT, default kafkajs), producers through kafka.producerClient
 * (NOVACRON_KAFKA_PRODUCER_CLIENT, default auto = node-rdkafka where it built). node-rdkafka is
 * an optional dependency, loaded only when chosen; asking for it where it is missing is a
 * KAFKA_CLIENT_MISSING error that says how to install it.
 */
export function createBus(config: Config, log: Logger): MessageBus {
  const main = config.kafka.client === 'rdkafka' ? rdkafka(config, log) : kafkajs(config, log);
  const producers = producerBus(config, log, main);
  if (producers === main) return main;
  return {
    producer: (): Promise<BusProducer> => producers.producer(),
    consumer: (options) => main.consumer(options),
    ensureTopics: (topics) => main.ensureTopics(topics),
    deleteTopics: (topics) => main.deleteTopics(topics),
    consumerLag: (groupId, topic) => main.consumerLag(groupId, topic),
  };
}
