import type { MessageBus } from './bus.ts';
import type { Config } from './config.ts';
import { KafkaJsBus } from './kafkajs-bus.ts';
import type { Logger } from './logger.ts';

/** Builds the MessageBus adapter the config asks for (kafkajs is the only one so far). */
export function createBus(config: Config, log: Logger): MessageBus {
  return new KafkaJsBus(config.kafka.brokers, config.kafka.clientId, log);
}
