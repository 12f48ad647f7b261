import { homedir, hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { NovaError } from './errors.ts';

/** Root of the checkout (the folder holding package.json); relative defaults resolve from here. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const port = z.coerce.number().int().min(1).max(65535);
/** The levels QuestDB's log.conf takes (`w.<writer>.level`). */
const QUESTDB_LOG_LEVELS = ['DEBUG', 'INFO', 'ERROR', 'CRITICAL', 'ADVISORY'] as const;

const ConfigSchema = z.object({
  /** Where the stack keeps data, logs and pid files (git-ignored). */
  homeDir: z.string(),
  /** Where Maven-resolved jars are cached (outside git, shared between checkouts). */
  cacheDir: z.string(),
  /** Folder of the evaluation data (../shared/data by default); read, never copied. */
  dataDir: z.string(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  kafka: z.object({
    brokers: z.array(z.string().min(1)).min(1),
    /** Port of the broker the stack starts (the KRaft controller takes port + 1). */
    port,
    clientId: z.string().min(1),
    topicPrefix: z.string(),
    partitions: z.coerce.number().int().min(1),
    /** Copies of each partition of the topics NovaCron creates (3 on a production cluster). */
    replication: z.coerce.number().int().min(1).max(32),
    /** min.insync.replicas of those topics: acks=all writes fail rather than land on fewer copies. */
    minInsync: z.coerce.number().int().min(1).max(32),
    /** A consumer silent this long is dropped from its group (Kafka's session.timeout.ms). */
    sessionTimeoutMs: z.coerce.number().int().min(1_000).max(3_600_000),
    /** Brokers the local stack runs: 1 (one KRaft node) or 3 (a replicated cluster; see docs/faults.md). */
    nodes: z.coerce.number().int().refine((n) => n === 1 || n === 3, 'must be 1 or 3'),
    /**
     * Which MessageBus adapter consumes and administers: kafkajs (pure JS), rdkafka (node-rdkafka,
     * optional; docs/kafka-clients.md) or auto (default: rdkafka where it is installed, else kafkajs).
     * rdkafka workers pace their rounds (worker.roundMs), which kafkajs cannot.
     */
    client: z.enum(['kafkajs', 'rdkafka', 'auto']),
    /**
     * The adapter producers use (agent, simulator, DLQ and anomaly sends). Default rdkafka where it
     * is installed: faster here, and the only one that lost nothing when a broker was killed
     * (docs/faults.md); 'auto' falls back to kafkajs with a warning where node-rdkafka did not build.
     */
    producerClient: z.enum(['kafkajs', 'rdkafka', 'auto']),
    /** Producer compression (the rdkafka adapter; kafkajs sends uncompressed). */
    compression: z.enum(['lz4', 'zstd', 'none']),
  }),
  questdb: z.object({
    host: z.string().min(1),
    httpPort: port,
    pgPort: port,
    ilpTcpPort: port,
    /** PG-wire user (QuestDB's pg.user). */
    pgUser: z.string().min(1),
    /** PG-wire password when set in the environment; otherwise read from pgPasswordFile (core/questdb-secret.ts). */
    pgPassword: z.string().min(1).optional(),
    /** Where the local stack keeps the password it generated for its QuestDB (mode 0600). */
    pgPasswordFile: z.string().min(1),
    /** Prepended to every table name: lets tests and demos keep their data apart. */
    tablePrefix: z.string().regex(/^[a-z0-9_]*$/, 'lower-case letters, digits and _ only'),
    /**
     * What the local stack's QuestDB logs (its log.conf levels). Not INFO by default: at fleet
     * ingest rates QuestDB logs every WAL apply and partition step at INFO, and its log thread
     * took ~9 % of a core of this 2-core machine (bench:ingest, `top -H`).
     */
    logLevels: z.string().refine((v) => v.split(',').every((l) => (QUESTDB_LOG_LEVELS as readonly string[]).includes(l)), `comma-separated QuestDB log levels: ${QUESTDB_LOG_LEVELS.join(', ')}`),
    /**
     * Nice value the local stack gives its QuestDB's materialized-view refresh threads (0 leaves
     * them as they are). Why: the minute rollups refresh on a one-minute timer, each refresh
     * aggregating the last minute of every VM's samples at once; on a host that also runs the
     * producers and workers that burst took the cores from ingestion for seconds, once a minute
     * (see docs/streams.md). The rollups are a minute behind anyway; ingestion latency is not.
     */
    rollupNice: z.coerce.number().int().min(0).max(19),
  }),
  databaseUrl: z.string().url(),
  api: z.object({
    host: z.string(),
    port,
    /** Requests a minute per API key (per address on public routes); 0 turns the limit off. */
    rateLimitPerMinute: z.coerce.number().int().min(0).max(10_000_000),
    /** Largest request body the API reads, bytes (routes may take less). */
    bodyLimitBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024),
    /** Longest age of a shared read answer (plans, hosts, VMs, anomalies, savings) served from memory, ms; 0 = none. */
    readCacheMs: z.coerce.number().int().min(0).max(3_600_000),
    /** Longest age of a cached VM forecast band, ms (used only when readCacheMs > 0). */
    forecastCacheMs: z.coerce.number().int().min(0).max(3_600_000),
  }),
  /** The streams worker's Prometheus endpoint; port 0 turns it off. */
  worker: z.object({
    metricsHost: z.string(),
    metricsPort: z.coerce.number().int().min(0).max(65535),
    /** Seconds between two rows a worker writes to the pipeline_stats table (Grafana's throughput and lag); 0 turns it off. */
    statsSeconds: z.coerce.number().int().min(0).max(86_400),
    /** Rounds of batches start at most this often, ms (ConsumerOptions.minRoundMs); 0 = as fast as messages come. */
    roundMs: z.coerce.number().int().min(0).max(10_000),
  }),
  /** The planner's (`plan --every`) Prometheus endpoint and /healthz; port 0 turns it off. */
  planner: z.object({ metricsHost: z.string(), metricsPort: z.coerce.number().int().min(0).max(65535) }),
  /** The executor's (`execute`) Prometheus endpoint and /healthz; port 0 turns it off. */
  executor: z.object({ metricsHost: z.string(), metricsPort: z.coerce.number().int().min(0).max(65535) }),
  anomaly: z.object({
    /** Samples a series must have before it may alarm (288 = one day of 5-minute samples). */
    probationSamples: z.coerce.number().int().min(0),
    /** Smallest change (fraction of the VM's capacity) worth an anomaly event. */
    minChange: z.coerce.number().min(0).max(1),
    /** A series without a sample for this long (sample time) is forgotten: a VM that left frees its state. */
    idleHours: z.coerce.number().positive().max(24 * 365),
    /** Most series one worker holds; beyond it the least recently updated are forgotten first. */
    maxSeries: z.coerce.number().int().min(1).max(100_000_000),
  }),
  /** libvirt URI of each host, `{host}` replaced by the host id (e.g. qemu+ssh://{host}/system). */
  libvirtUriTemplate: z.string().includes('{host}', { message: 'must contain {host}' }),
  /** libvirt URIs of particular hosts (host id → URI), ahead of the template (e.g. hosts on different transports). */
  libvirtUris: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'host ids: letters, digits and . _ : @ -'), z.string().min(1)),
  /** How the actuators reach libvirt: its own virsh (default) or libvirt.so through FFI. */
  hypervisorAdapter: z.enum(['virsh', 'ffi']),
  /** Cloud instance catalog (JSON, see scheduler/cost/README.md); cloud placement is off without one. */
  cloudCatalogPath: z.string().optional(),
  execution: z.object({
    /** Automation levels: one level for every VM, or per VM group (see docs/execution.md). */
    automation: z.object({
      defaultLevel: z.enum(['manual', 'partial', 'full']),
      groups: z.array(z.object({ name: z.string().min(1).max(128), vmPattern: z.string().min(1).max(512), level: z.enum(['manual', 'partial', 'full']) })).max(1000),
    }),
    maxConcurrentPerHost: z.coerce.number().int().min(1).max(1000),
    maxConcurrentPerCluster: z.coerce.number().int().min(1).max(100_000),
    maxMigrationsPerHour: z.coerce.number().int().min(1).max(1_000_000),
    /** When actions may start (UTC), e.g. [{"start":"22:00","end":"06:00"}]; empty = any time. */
    windows: z.array(z.object({ start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/), end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/), days: z.array(z.number().int().min(0).max(6)).optional() })).max(100),
    migrationTimeoutSeconds: z.coerce.number().positive().max(86_400),
    settleSeconds: z.coerce.number().min(0).max(86_400),
    loadTolerance: z.coerce.number().min(0).max(10),
    /** Cap on one migration's bandwidth, MiB/s (absent = libvirt's default, no cap). */
    migrationBandwidthMiBps: z.coerce.number().positive().max(1_000_000).optional(),
    /** Address migration data goes over, `{host}` = the target host (libvirt's migrateuri); absent = libvirt's default. */
    migrateUriTemplate: z.string().optional(),
    /** How emptied hosts are switched off: not at all (an operator does it), the libvirt test adapter, or their BMC. */
    hostPower: z.enum(['none', 'libvirt', 'redfish']),
    /** Redfish: each host's BMC URL (`{host}` = host id), the user, and a file holding the password (never the password itself). */
    redfishUrlTemplate: z.string().includes('{host}', { message: 'must contain {host}' }).optional(),
    redfishUser: z.string().min(1).max(256).optional(),
    redfishPasswordFile: z.string().optional(),
  }),
  java: z.object({ kafkaHome: z.string().optional(), questdbHome: z.string().optional() }),
  /** The host agent (`novacron agent`, docs/agent.md): procfs + libvirt → samples every interval. */
  agent: z.object({
    intervalSeconds: z.coerce.number().min(0.1).max(3600),
    /** Key and hostId of the samples; the machine's hostname by default. */
    hostId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'host ids: letters, digits and . _ : @ -').max(128),
    libvirtUri: z.string().min(1),
    /** Its Prometheus endpoint; port 0 turns it off. */
    metricsHost: z.string(),
    metricsPort: z.coerce.number().int().min(0).max(65535),
  }),
  /** Producers' disk spool for when Kafka is unreachable (ingest/spool, docs/ingest.md). */
  spool: z.object({
    enabled: z.boolean(),
    /** Root folder; each producer spools under <dir>/<name>. */
    dir: z.string(),
    /** Bound per producer; when full the oldest records are dropped (and counted). */
    maxBytes: z.coerce.number().int().min(64 * 1024),
  }),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(PROJECT_ROOT, path);
}

/**
 * Compiles the configuration once, at the edge of a process: environment → defaults →
 * validated, frozen object. Nothing deeper reads process.env.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<string, string>> = {}): Config {
  const e = { ...env, ...overrides };
  const kafkaPort = e.NOVACRON_KAFKA_PORT ?? '9092';
  const raw = {
    homeDir: absolute(e.NOVACRON_HOME ?? '.novacron'),
    cacheDir: absolute(e.NOVACRON_CACHE ?? resolve(homedir(), '.cache', 'novacron')),
    dataDir: absolute(e.NOVACRON_DATA ?? '../shared/data'),
    logLevel: e.NOVACRON_LOG_LEVEL ?? 'info',
    kafka: {
      brokers: (e.KAFKA_BROKERS ?? localKafkaBrokers(Number(kafkaPort), e.NOVACRON_KAFKA_NODES === '3' ? 3 : 1).join(',')).split(',').map((b) => b.trim()).filter(Boolean),
      port: kafkaPort,
      clientId: e.NOVACRON_KAFKA_CLIENT_ID ?? 'novacron',
      topicPrefix: e.NOVACRON_TOPIC_PREFIX ?? 'novacron',
      // 16 partitions: up to 16 streams workers share the sample topics in one group.
      partitions: e.NOVACRON_KAFKA_PARTITIONS ?? '16',
      // The local three-broker cluster (NOVACRON_KAFKA_NODES=3) survives one broker down: 3 copies, 2 in sync.
      replication: e.NOVACRON_KAFKA_REPLICATION ?? (e.NOVACRON_KAFKA_NODES === '3' ? '3' : '1'),
      minInsync: e.NOVACRON_KAFKA_MIN_INSYNC ?? (e.NOVACRON_KAFKA_NODES === '3' ? '2' : '1'),
      sessionTimeoutMs: e.NOVACRON_KAFKA_SESSION_TIMEOUT_MS ?? '30000',
      nodes: e.NOVACRON_KAFKA_NODES ?? '1',
      client: e.NOVACRON_KAFKA_CLIENT ?? 'auto',
      producerClient: e.NOVACRON_KAFKA_PRODUCER_CLIENT ?? e.NOVACRON_KAFKA_CLIENT ?? 'auto',
      // kafkajs consumers cannot decompress lz4/zstd: no compression when consumers are told to use
      // kafkajs. Under 'auto' without node-rdkafka the producers are kafkajs too, which send uncompressed.
      compression: e.NOVACRON_KAFKA_COMPRESSION ?? (e.NOVACRON_KAFKA_CLIENT === 'kafkajs' ? 'none' : 'lz4'),
    },
    questdb: {
      host: e.QUESTDB_HOST ?? '127.0.0.1',
      httpPort: e.QUESTDB_HTTP_PORT ?? '9000',
      pgPort: e.QUESTDB_PG_PORT ?? '8812',
      ilpTcpPort: e.QUESTDB_ILP_PORT ?? '9009',
      // The user name is not a secret; the password never has a default in code: the local stack
      // generates one into pgPasswordFile, deployments set QUESTDB_PG_PASSWORD (docker-compose.yml requires it).
      pgUser: e.QUESTDB_PG_USER ?? 'admin',
      pgPassword: e.QUESTDB_PG_PASSWORD || undefined,
      pgPasswordFile: absolute(e.QUESTDB_PG_PASSWORD_FILE ?? resolve(absolute(e.NOVACRON_HOME ?? '.novacron'), 'secrets', 'questdb-pg-password')),
      tablePrefix: e.NOVACRON_TABLE_PREFIX ?? '',
      logLevels: e.NOVACRON_QUESTDB_LOG_LEVELS ?? 'ERROR,CRITICAL,ADVISORY',
      rollupNice: e.NOVACRON_QUESTDB_ROLLUP_NICE ?? '10',
    },
    databaseUrl: e.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/novacron',
    api: {
      host: e.NOVACRON_API_HOST ?? '127.0.0.1',
      port: e.NOVACRON_API_PORT ?? '8080',
      rateLimitPerMinute: e.NOVACRON_API_RATE_LIMIT ?? '6000',
      bodyLimitBytes: e.NOVACRON_API_BODY_LIMIT ?? String(1024 * 1024),
      readCacheMs: e.NOVACRON_API_CACHE_MS ?? '2000',
      forecastCacheMs: e.NOVACRON_API_FORECAST_CACHE_MS ?? '60000',
    },
    worker: { metricsHost: e.NOVACRON_WORKER_METRICS_HOST ?? '127.0.0.1', metricsPort: e.NOVACRON_WORKER_METRICS_PORT ?? '9465', statsSeconds: e.NOVACRON_PIPELINE_STATS_SECONDS ?? '10', roundMs: e.NOVACRON_WORKER_ROUND_MS ?? '500' },
    // Next to the agent's 9464 and the worker's 9465, so one host can run every process.
    planner: { metricsHost: e.NOVACRON_PLANNER_METRICS_HOST ?? '127.0.0.1', metricsPort: e.NOVACRON_PLANNER_METRICS_PORT ?? '9466' },
    executor: { metricsHost: e.NOVACRON_EXECUTOR_METRICS_HOST ?? '127.0.0.1', metricsPort: e.NOVACRON_EXECUTOR_METRICS_PORT ?? '9467' },
    anomaly: {
      probationSamples: e.NOVACRON_ANOMALY_PROBATION ?? '288',
      minChange: e.NOVACRON_ANOMALY_MIN_CHANGE ?? '0.05',
      idleHours: e.NOVACRON_ANOMALY_IDLE_HOURS ?? '6',
      maxSeries: e.NOVACRON_ANOMALY_MAX_SERIES ?? '250000',
    },
    // Default: libvirt's test driver, one node file per simulated host (the demo writes them).
    libvirtUriTemplate: e.LIBVIRT_URI_TEMPLATE ?? `test://${absolute(e.NOVACRON_HOME ?? '.novacron')}/libvirt/{host}.xml`,
    libvirtUris: jsonSetting(e.NOVACRON_LIBVIRT_URIS, 'NOVACRON_LIBVIRT_URIS', {}),
    hypervisorAdapter: e.NOVACRON_HYPERVISOR_ADAPTER ?? 'virsh',
    cloudCatalogPath: e.NOVACRON_CLOUD_CATALOG ? absolute(e.NOVACRON_CLOUD_CATALOG) : undefined,
    execution: {
      automation: automationSetting(e.NOVACRON_AUTOMATION),
      maxConcurrentPerHost: e.NOVACRON_MAX_MIGRATIONS_PER_HOST ?? '2',
      maxConcurrentPerCluster: e.NOVACRON_MAX_MIGRATIONS_PER_CLUSTER ?? '8',
      maxMigrationsPerHour: e.NOVACRON_MAX_MIGRATIONS_PER_HOUR ?? '60',
      windows: jsonSetting(e.NOVACRON_MAINTENANCE_WINDOWS, 'NOVACRON_MAINTENANCE_WINDOWS', []),
      migrationTimeoutSeconds: e.NOVACRON_MIGRATION_TIMEOUT_SECONDS ?? '600',
      settleSeconds: e.NOVACRON_SETTLE_SECONDS ?? '60',
      loadTolerance: e.NOVACRON_LOAD_TOLERANCE ?? '0.25',
      migrateUriTemplate: e.NOVACRON_MIGRATE_URI_TEMPLATE,
      migrationBandwidthMiBps: e.NOVACRON_MIGRATION_BANDWIDTH_MIBPS,
      hostPower: e.NOVACRON_HOST_POWER ?? 'none',
      redfishUrlTemplate: e.NOVACRON_REDFISH_URL_TEMPLATE,
      redfishUser: e.NOVACRON_REDFISH_USER,
      redfishPasswordFile: e.NOVACRON_REDFISH_PASSWORD_FILE ? absolute(e.NOVACRON_REDFISH_PASSWORD_FILE) : undefined,
    },
    java: { kafkaHome: e.NOVACRON_KAFKA_JAVA_HOME, questdbHome: e.NOVACRON_QUESTDB_JAVA_HOME },
    agent: {
      intervalSeconds: e.NOVACRON_AGENT_INTERVAL_SECONDS ?? '10',
      // A hostname is letters, digits, - and .; anything else (a misconfigured machine) must not fail every command.
      hostId: e.NOVACRON_AGENT_HOST_ID ?? (hostname().replace(/[^A-Za-z0-9._:@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'localhost'),
      libvirtUri: e.NOVACRON_AGENT_LIBVIRT_URI ?? 'qemu:///system',
      metricsHost: e.NOVACRON_AGENT_METRICS_HOST ?? '127.0.0.1',
      metricsPort: e.NOVACRON_AGENT_METRICS_PORT ?? '9464',
    },
    spool: {
      enabled: !/^(0|false|no|off)$/i.test((e.NOVACRON_SPOOL_ENABLED ?? 'true').trim()),
      dir: absolute(e.NOVACRON_SPOOL_DIR ?? resolve(absolute(e.NOVACRON_HOME ?? '.novacron'), 'spool')),
      maxBytes: e.NOVACRON_SPOOL_MAX_BYTES ?? String(1024 ** 3),
    },
  };
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const field = first ? first.path.join('.') : '?';
    throw new NovaError('CONFIG_INVALID', `configuration field "${field}" is invalid: ${first?.message ?? 'unknown'}; check the matching environment variable (see docs/configuration.md)`);
  }
  return deepFreeze(parsed.data);
}

/**
 * Ports of the local stack's Kafka nodes from the base port: node i (1-based) listens for
 * clients on base + 2(i-1) and for its KRaft controller on the next port (one node: base, base + 1).
 */
export function localKafkaPorts(basePort: number, nodes: number): { nodeId: number; port: number; controllerPort: number }[] {
  return Array.from({ length: Math.max(1, nodes) }, (_, i) => ({ nodeId: i + 1, port: basePort + 2 * i, controllerPort: basePort + 2 * i + 1 }));
}

/** Bootstrap addresses of the local stack's Kafka nodes (the default of KAFKA_BROKERS). */
export function localKafkaBrokers(basePort: number, nodes: number): string[] {
  return localKafkaPorts(basePort, nodes).map((n) => `127.0.0.1:${n.port}`);
}

// A JSON-valued setting; malformed JSON names the variable.
function jsonSetting(value: string | undefined, name: string, fallback: unknown): unknown {
  if (value === undefined || value.trim() === '') return fallback;
  try {
    return JSON.parse(value);
  } catch {
    throw new NovaError('CONFIG_INVALID', `${name} is not valid JSON; see docs/configuration.md`);
  }
}

// NOVACRON_AUTOMATION: one level for every VM ("manual", "partial", "full") or a JSON policy with groups.
function automationSetting(value: string | undefined): unknown {
  if (value === undefined || value.trim() === '') return { defaultLevel: 'manual', groups: [] };
  if (/^[a-z]+$/.test(value.trim())) return { defaultLevel: value.trim(), groups: [] };
  return jsonSetting(value, 'NOVACRON_AUTOMATION', undefined);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Topic names, derived from one prefix so a test can own a whole set. */
export interface Topics {
  hostSamples: string;
  vmSamples: string;
  deadLetter: string;
  anomalies: string;
  /** collectd's write_kafka JSON (docs/collectd.md); optional here so Topics literals written before it stay valid. */
  collectd?: string;
}

/** Every topic NovaCron owns under the config's prefix, with the partitions (and replication) to create it with. */
export function topicSpecs(config: Config, partitions: number = config.kafka.partitions): { topic: string; partitions: number; replicationFactor: number; configEntries: { name: string; value: string }[] }[] {
  const { replication, minInsync } = config.kafka;
  return Object.values(topicsFor(config)).map((topic) => ({
    topic, partitions, replicationFactor: replication, configEntries: [{ name: 'min.insync.replicas', value: String(minInsync) }],
  }));
}

export function topicsFor(config: Config): Topics & { collectd: string } {
  const p = config.kafka.topicPrefix;
  return { hostSamples: `${p}.samples.host`, vmSamples: `${p}.samples.vm`, deadLetter: `${p}.dlq`, anomalies: `${p}.anomalies`, collectd: `${p}.collectd` };
}
