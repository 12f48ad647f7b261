import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { NovaError } from './errors.ts';

/** Root of the checkout (the folder holding package.json); relative defaults resolve from here. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const port = z.coerce.number().int().min(1).max(65535);

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
  }),
  questdb: z.object({
    host: z.string().min(1),
    httpPort: port,
    pgPort: port,
    ilpTcpPort: port,
    /** Prepended to every table name: lets tests and demos keep their data apart. */
    tablePrefix: z.string().regex(/^[a-z0-9_]*$/, 'lower-case letters, digits and _ only'),
  }),
  databaseUrl: z.string().url(),
  api: z.object({ host: z.string(), port }),
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
      brokers: (e.KAFKA_BROKERS ?? `127.0.0.1:${kafkaPort}`).split(',').map((b) => b.trim()).filter(Boolean),
      port: kafkaPort,
      clientId: e.NOVACRON_KAFKA_CLIENT_ID ?? 'novacron',
      topicPrefix: e.NOVACRON_TOPIC_PREFIX ?? 'novacron',
      partitions: e.NOVACRON_KAFKA_PARTITIONS ?? '4',
    },
    questdb: {
      host: e.QUESTDB_HOST ?? '127.0.0.1',
      httpPort: e.QUESTDB_HTTP_PORT ?? '9000',
      pgPort: e.QUESTDB_PG_PORT ?? '8812',
      ilpTcpPort: e.QUESTDB_ILP_PORT ?? '9009',
      tablePrefix: e.NOVACRON_TABLE_PREFIX ?? '',
    },
    databaseUrl: e.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/novacron',
    api: { host: e.NOVACRON_API_HOST ?? '127.0.0.1', port: e.NOVACRON_API_PORT ?? '8080' },
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
  };
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const field = first ? first.path.join('.') : '?';
    throw new NovaError('CONFIG_INVALID', `configuration field "${field}" is invalid: ${first?.message ?? 'unknown'}; check the matching environment variable (see docs/configuration.md)`);
  }
  return deepFreeze(parsed.data);
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
}

/** Every topic NovaCron owns under the config's prefix, with the partitions to create it with. */
export function topicSpecs(config: Config, partitions: number = config.kafka.partitions): { topic: string; partitions: number }[] {
  return Object.values(topicsFor(config)).map((topic) => ({ topic, partitions }));
}

export function topicsFor(config: Config): Topics {
  const p = config.kafka.topicPrefix;
  return { hostSamples: `${p}.samples.host`, vmSamples: `${p}.samples.vm`, deadLetter: `${p}.dlq`, anomalies: `${p}.anomalies` };
}
