export { NovaError, hasCode, describeError } from './errors.ts';
export { createLogger, type Logger } from './logger.ts';
export { loadConfig, topicsFor, topicSpecs, PROJECT_ROOT, type Config, type Topics } from './config.ts';
export type { MessageBus, BusProducer, BusConsumer, BatchHandler, IncomingBatch, IncomingMessage, OutgoingMessage, ConsumerOptions, TopicSpec } from './bus.ts';
export { KafkaJsBus } from './kafkajs-bus.ts';
export { QuestDbClient, createIlpSender, questdbPgUrl, questdbTable } from './questdb.ts';
export { createPgPool, ensureDatabase, postgresReachable, databaseName, maintenanceUrl, migrate, type Migration, type PgPool } from './postgres.ts';
export { createBus } from './compose.ts';
export { seededRandom, gaussian } from './random.ts';
