import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localKafkaPorts, NovaError, type Config, type Logger } from '../core/index.ts';
import { kafkaNodeService, newKafkaClusterId, type KafkaNode } from './kafka.ts';
import { bringDown, bringUp, type ServiceStatus, type StackService } from './service.ts';

/** Nodes of the local cluster: replication 3, and a write needs two in-sync replicas. */
export const CLUSTER_NODES = 3;
const REPLICATION = 3;
const MIN_INSYNC = 2;

/** Layout of the three KRaft nodes: ports from the base port (config.kafka.port), one quorum. */
export function clusterNodes(config: Config): KafkaNode[] {
  const ports = localKafkaPorts(config.kafka.port, CLUSTER_NODES);
  const voters = ports.map((p) => `${p.nodeId}@127.0.0.1:${p.controllerPort}`).join(',');
  return ports.map((p) => ({ ...p, voters, replication: REPLICATION, minInsync: MIN_INSYNC }));
}

/**
 * Every node of one cluster is formatted with the same cluster id: it is made once and kept
 * beside the nodes' folders, so a node whose storage was wiped rejoins the same cluster.
 */
function sharedClusterId(homeDir: string): () => string {
  return () => {
    const file = join(homeDir, 'stack', 'kafka-cluster.id');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    mkdirSync(join(homeDir, 'stack'), { recursive: true });
    const id = newKafkaClusterId();
    writeFileSync(file, `${id}\n`);
    return id;
  };
}

/**
 * Three Kafka processes from the same jars as the single node, each broker + controller
 * (KRaft combined mode) with its own node id, ports and folder (<home>/stack/kafka-1..3),
 * and smaller heaps so the cluster fits next to QuestDB on a small machine.
 */
export function kafkaClusterServices(config: Config, jarsDir: string, log: Logger): StackService[] {
  const clusterId = sharedClusterId(config.homeDir);
  return clusterNodes(config).map((node) =>
    kafkaNodeService(config, jarsDir, log, node, {
      name: `kafka-${node.nodeId}`,
      heap: ['-Xms128m', '-Xmx384m'],
      clusterId,
    }),
  );
}

/** A node's service by id (1-based), e.g. for a test that kills and restarts one broker. */
export function clusterNode(services: readonly StackService[], nodeId: number): StackService {
  const svc = services[nodeId - 1];
  if (!svc) throw new NovaError('STACK_NO_SUCH_NODE', `the cluster has nodes 1-${services.length}, not ${nodeId}`);
  return svc;
}

/**
 * Starts all three nodes together: a node only serves once a majority of the controller
 * quorum is up, so starting them one after the other would time out on the first.
 */
export async function clusterUp(services: readonly StackService[], homeDir: string): Promise<ServiceStatus[]> {
  const results = await Promise.allSettled(services.map((svc) => bringUp(svc, homeDir)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    const first = failed.reason;
    if (first instanceof NovaError) throw first;
    throw new NovaError('STACK_START_FAILED', String((first as Error)?.message ?? first), { cause: first });
  }
  return results.map((r) => (r as PromiseFulfilledResult<ServiceStatus>).value);
}

/** Stops the nodes this stack started, in parallel (each waits for its own controlled shutdown). */
export async function clusterDown(services: readonly StackService[], homeDir: string): Promise<{ name: string; result: string }[]> {
  return Promise.all(services.map(async (svc) => ({ name: svc.name, result: await bringDown(svc, homeDir) })));
}
