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

function serverProperties(config: Config, dataDir: string): string {
  const port = config.kafka.port;
  return [
    '# Written by `novacron stack up` on every start; edit stack/kafka.ts instead.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${port + 1}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${port + 1}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    `num.partitions=${config.kafka.partitions}`,
    // Single node: internal topics cannot have more replicas than brokers.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
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

/** Single-node Kafka in KRaft mode (broker + controller in one JVM), from Maven-resolved jars. */
export function kafkaService(config: Config, jarsDir: string, log: Logger): StackService {
  const java = javaBinary(config.java.kafkaHome);
  const classpath = join(jarsDir, '*');
  const port = config.kafka.port;
  const bus = createBus(config, log);
  return {
    name: 'kafka',
    endpoint: `127.0.0.1:${port}`,
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
      writeFileSync(props, serverProperties(config, dataDir));
      writeFileSync(log4j, LOG4J2);
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        const clusterId = randomBytes(16).toString('base64url');
        try {
          await run(java, ['-cp', classpath, `-Dlog4j2.configurationFile=${log4j}`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props]);
        } catch (cause) {
          throw new NovaError('STACK_START_FAILED', `formatting Kafka's storage in ${dataDir} failed: ${(cause as Error).message}`, { cause });
        }
      }
      return {
        command: java,
        args: ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath, 'kafka.Kafka', props],
      };
    },
  };
}
