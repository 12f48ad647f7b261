import { parseArgs } from 'node:util';
import { loadConfig, NovaError, type Config, type Logger } from '../core/index.ts';
import { stackDown, stackStatus, stackUp } from '../stack/index.ts';
import { formatStatus, say } from './output.ts';

const USAGE = `usage: novacron stack up|down|status [--kafka-nodes 1|3]
  --kafka-nodes 1|3   one Kafka node (default, NOVACRON_KAFKA_NODES) or a three-broker KRaft cluster
                      (replication 3, min.insync.replicas 2) on NOVACRON_KAFKA_PORT, +2, +4`;

/**
 * The config with the Kafka topology of --kafka-nodes: the flag is a shorthand for
 * NOVACRON_KAFKA_NODES, so it is compiled the same way (brokers default to the nodes' ports).
 */
function withKafkaNodes(argv: string[], config: Config): Config {
  let nodes: string | undefined;
  try {
    nodes = parseArgs({ args: argv, options: { 'kafka-nodes': { type: 'string' } }, strict: true }).values['kafka-nodes'];
  } catch (err) {
    throw new NovaError('CLI_BAD_OPTION', `${(err as Error).message}\n${USAGE}`);
  }
  if (nodes === undefined) return config;
  if (nodes !== '1' && nodes !== '3') throw new NovaError('CLI_BAD_OPTION', `--kafka-nodes must be 1 or 3, got "${nodes}"\n${USAGE}`);
  return loadConfig(process.env, { NOVACRON_KAFKA_NODES: nodes });
}

/**
 * `novacron stack up|down|status [--kafka-nodes 1|3]`. `argv` is what follows the action; by
 * default it is read from the command line (node main.ts stack <action> ...).
 */
export async function stackCommand(action: string | undefined, baseConfig: Config, log: Logger, argv: string[] = []): Promise<number> {
  const config = withKafkaNodes(argv, baseConfig);
  switch (action) {
    case 'up': {
      const statuses = await stackUp(config, log, say);
      say('stack: up');
      for (const s of statuses) say(formatStatus(s));
      if (config.kafka.nodes === 3) say(`  kafka: ${config.kafka.nodes} brokers, replication 3, min.insync.replicas 2; clients: KAFKA_BROKERS=${config.kafka.brokers.join(',')}`);
      say(`  data and logs under ${config.homeDir}/stack`);
      return 0;
    }
    case 'down': {
      for (const r of await stackDown(config, log)) say(`  ${r.name.padEnd(9)} ${r.result}`);
      return 0;
    }
    case 'status': {
      const statuses = await stackStatus(config, log);
      for (const s of statuses) say(formatStatus(s));
      return statuses.every((s) => s.state === 'running' || s.state === 'external') ? 0 : 3;
    }
    default:
      say(USAGE);
      return 2;
  }
}
