import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBus, NovaError, type Config, type Logger } from '../core/index.ts';
import { jarVersion } from './jars.ts';
import { portOpen } from './probe.ts';
import type { StackService } from './service.ts';
import { javaBinary } from './tools.ts';

const run = promisify(execFile);

/** One KRaft node's identity: the ports it listens on and the quorum it belongs to. */
export interface KafkaNode {
  nodeId: number;
  port: number;
  controllerPort: number;
  /** `controller.quorum.voters`: id@host:controllerPort of every node. */
  voters: string;
  /** Replicas of internal topics and new topics, and the in-sync replicas a write needs. */
  replication: number;
  minInsync: number;
}

/** The single-node layout `novacron stack up` uses by default (broker on port, controller on port + 1). */
export function singleNode(config: Config): KafkaNode {
  const port = config.kafka.port;
  return { nodeId: 1, port, controllerPort: port + 1, voters: `1@127.0.0.1:${port + 1}`, replication: 1, minInsync: 1 };
}

export function serverProperties(config: Config, dataDir: string, node: KafkaNode = singleNode(config)): string {
  const { port, controllerPort, replication, minInsync } = node;
  return [
    '# Written by `novacron stack up` on every start; edit stack/kafka.ts instead.',
    'process.roles=broker,controller',
    `node.id=${node.nodeId}`,
    `controller.quorum.voters=${node.voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    `num.partitions=${config.kafka.partitions}`,
    // Internal topics cannot have more replicas than brokers: 1 on a single node, 3 on the cluster.
    `offsets.topic.replication.factor=${replication}`,
    `transaction.state.log.replication.factor=${replication}`,
    `transaction.state.log.min.isr=${minInsync}`,
    `share.coordinator.state.topic.replication.factor=${replication}`,
    ...(replication > 1
      ? [
          // A cluster survives one broker down: every write (acks=all) lands on at least two.
          `share.coordinator.state.topic.min.isr=${minInsync}`,
          `default.replication.factor=${replication}`,
          `min.insync.replicas=${minInsync}`,
        ]
      : []),
    // Tests create and join many groups: do not wait 3 s for more members on each.
    'group.initial.rebalance.delay.ms=0',
    // Topics are created explicitly, so a mistyped name fails instead of silently creating one.
    'auto.create.topics.enable=false',
    'log.retention.hours=48',
    '',
  ].join('\n');
}

const LOG4J2 = [
  'status = warn',
  'appender.out.type = Console',
  'appender.out.name = out',
  'appender.out.layout.type = PatternLayout',
  'appender.out.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = info',
  'rootLogger.appenderRef.out.ref = out',
  'logger.state.name = state.change.logger',
  'logger.state.level = warn',
  '',
].join('\n');

/**
 * A new KRaft cluster id: 16 random bytes, base64url, as `kafka-storage random-uuid` makes them.
 * Like Kafka's own Uuid.randomUuid it never starts with '-': the storage tool's argument parser
 * would read such an id as an option and refuse to format (1 id in 64 did, and failed a CI run).
 */
export function newKafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Single-node Kafka in KRaft mode (broker + controller in one JVM), from Maven-resolved jars. */
export function kafkaService(config: Config, jarsDir: string, log: Logger): StackService {
  return kafkaNodeService(config, jarsDir, log, singleNode(config), { name: 'kafka', heap: ['-Xms256m', '-Xmx1g'], clusterId: newKafkaClusterId });
}

export interface KafkaNodeOptions {
  /** Service name: also the folder under <home>/stack and the pid/log file names. */
  name: string;
  heap: string[];
  /** The cluster id to format empty storage with (every node of one cluster must share it). */
  clusterId: () => string;
  /** What the status line shows as the endpoint (default: this node's address). */
  endpoint?: string;
}

/** One KRaft node (broker + controller in one JVM): formats its storage on first start, then runs. */
export function kafkaNodeService(config: Config, jarsDir: string, log: Logger, node: KafkaNode, opts: KafkaNodeOptions): StackService {
  const java = javaBinary(config.java.kafkaHome);
  const classpath = join(jarsDir, '*');
  const { port } = node;
  // Probe this node itself, not the configured bootstrap list: each node must answer on its own.
  const bus = createBus({ ...config, kafka: { ...config.kafka, brokers: [`127.0.0.1:${port}`] } }, log);
  return {
    name: opts.name,
    endpoint: opts.endpoint ?? `127.0.0.1:${port}`,
    version: jarVersion(jarsDir, 'kafka_2.13'),
    startTimeoutMs: 90_000,
    ready: async () => {
      if (!(await portOpen('127.0.0.1', port))) return false;
      await bus.ensureTopics([]); // a metadata round trip: the broker is serving, not just listening
      return true;
    },
    command: async (dir) => {
      const dataDir = join(dir, 'data');
      mkdirSync(dataDir, { recursive: true });
      const props = join(dir, 'server.properties');
      const log4j = join(dir, 'log4j2.properties');
      writeFileSync(props, serverProperties(config, dataDir, node));
      writeFileSync(log4j, LOG4J2);
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        try {
          await run(java, ['-cp', classpath, `-Dlog4j2.configurationFile=${log4j}`, 'kafka.tools.StorageTool', 'format', `--cluster-id=${opts.clusterId()}`, '-c', props]);
        } catch (cause) {
          throw new NovaError('STACK_START_FAILED', `formatting Kafka's storage in ${dataDir} failed: ${(cause as Error).message}`, { cause });
        }
      }
      return {
        command: java,
        args: [...opts.heap, '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath, 'kafka.Kafka', props],
      };
    },
  };
}
