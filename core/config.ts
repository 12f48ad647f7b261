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
  /** Cloud instance catalog (JSON, see scheduler/cost/README.md); cloud placement is off without one. */
  cloudCatalogPath: z.string().optional(),
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
    cloudCatalogPath: e.NOVACRON_CLOUD_CATALOG ? absolute(e.NOVACRON_CLOUD_CATALOG) : undefined,
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
