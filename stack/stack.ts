import { NovaError, type Config, type Logger } from '../core/index.ts';
import { ensureJars, jarDirs, type JarDirs } from './jars.ts';
import { kafkaService } from './kafka.ts';
import { kafkaClusterServices } from './kafka-cluster.ts';
import { postgresService } from './postgres.ts';
import { questdbService } from './questdb.ts';
import { bringDown, bringUp, serviceDir, statusOf, type ServiceStatus, type StackService } from './service.ts';
import { livePid } from './process.ts';
import { javaBinary, requireJava } from './tools.ts';

/** The Kafka services of a topology: one node, or the three-node cluster. */
function kafkaServices(config: Config, jars: JarDirs, log: Logger, nodes: number): StackService[] {
  return nodes === 3 ? kafkaClusterServices(config, jars.kafka, log) : [kafkaService(config, jars.kafka, log)];
}

function services(config: Config, jars: JarDirs, log: Logger): StackService[] {
  return [postgresService(config), ...kafkaServices(config, jars, log, config.kafka.nodes), questdbService(config, jars.questdb)];
}

/** Kafka services of the topology not configured now: `down` and `status` still cover them if they run. */
function otherTopology(config: Config, jars: JarDirs, log: Logger): StackService[] {
  return kafkaServices(config, jars, log, config.kafka.nodes === 3 ? 1 : 3);
}

/** Starts whatever of PostgreSQL, Kafka (one node or three) and QuestDB is not already answering; idempotent. */
export async function stackUp(config: Config, log: Logger, onProgress: (line: string) => void = () => undefined): Promise<ServiceStatus[]> {
  await requireJava(javaBinary(config.java.kafkaHome), 17);
  await requireJava(javaBinary(config.java.questdbHome), 17);
  const jars = await ensureJars(config, log);
  const all = services(config, jars, log);
  const running = otherTopology(config, jars, log).filter((svc) => isOurs(config, svc));
  if (running.length > 0) {
    const flag = config.kafka.nodes === 3 ? '1' : '3';
    throw new NovaError('STACK_TOPOLOGY_CONFLICT', `Kafka is running as ${running.map((s) => s.name).join(', ')} from an earlier \`stack up\` with ${flag} node(s); run \`./novacron stack down\` first, or use the same --kafka-nodes ${flag}`);
  }
  onProgress(`stack: starting ${all.map((s) => s.name).join(', ')} (up to 90 s each on first start)`);
  // The JVMs start in parallel: most of their start-up is waiting, not CPU (and a cluster's
  // nodes must come up together: none serves before a majority of its quorum is up).
  const results = await Promise.allSettled(all.map((svc) => bringUp(svc, config.homeDir)));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    const first = failed[0]!.reason;
    if (first instanceof NovaError) throw first;
    throw new NovaError('STACK_START_FAILED', String((first as Error)?.message ?? first), { cause: first });
  }
  return results.map((r) => (r as PromiseFulfilledResult<ServiceStatus>).value);
}

/** Stops only the servers this stack started (found by their pid files), newest first; either Kafka topology. */
export async function stackDown(config: Config, log: Logger): Promise<{ name: string; result: string }[]> {
  const jars = jarDirs(config);
  const [pg, ...rest] = services(config, jars, log);
  const questdb = rest.pop()!;
  const other = otherTopology(config, jars, log).filter((svc) => isOurs(config, svc));
  const out: { name: string; result: string }[] = [{ name: questdb.name, result: await bringDown(questdb, config.homeDir) }];
  // Kafka nodes stop together: the last node of a cluster would otherwise wait for a quorum that is gone.
  out.push(...(await Promise.all([...rest, ...other].map(async (svc) => ({ name: svc.name, result: await bringDown(svc, config.homeDir) })))));
  out.push({ name: pg!.name, result: await bringDown(pg!, config.homeDir) });
  return out;
}

/**
 * Status of the servers; Kafka as the topology that runs: a cluster started with
 * `--kafka-nodes 3` is reported as kafka-1..3 even when the config says one node.
 */
export async function stackStatus(config: Config, log: Logger): Promise<ServiceStatus[]> {
  const jars = jarDirs(config);
  const [pg, ...rest] = services(config, jars, log);
  const questdb = rest.pop()!;
  const other = otherTopology(config, jars, log);
  const kafkas = !rest.some((svc) => isOurs(config, svc)) && other.some((svc) => isOurs(config, svc)) ? other : rest;
  return Promise.all([pg!, ...kafkas, questdb].map((svc) => statusOf(svc, config.homeDir)));
}

function isOurs(config: Config, svc: StackService): boolean {
  return livePid(serviceDir(config.homeDir, svc.name).pidFile) !== undefined;
}
