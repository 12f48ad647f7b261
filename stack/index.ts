export { stackUp, stackDown, stackStatus } from './stack.ts';
export type { ServiceStatus, ServiceState, StackService } from './service.ts';
export { bringUp, bringDown, statusOf } from './service.ts';
export { kafkaClusterServices, clusterNodes, clusterNode, clusterUp, clusterDown, CLUSTER_NODES } from './kafka-cluster.ts';
export { QUESTDB_ROLLUP_THREAD_PREFIX, QUESTDB_WORKER_IDLE, QUESTDB_WORKER_POOLS, questdbService } from './questdb.ts';
export { reniceThreads, threadsOf, type ProcessThread } from './thread-priority.ts';
export { ensureJars } from './jars.ts';
export { javaBinary, requireJava } from './tools.ts';
export { acquireRealHosts, realHostsUnavailable, HOST_A_URI, HOST_B_URI, REAL_HOST_PACKAGES, type RealHosts, type GuestOptions } from './libvirt-hosts.ts';
