import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NovaError, PROJECT_ROOT, type Config, type Logger } from '../core/index.ts';
import { requireMaven } from './tools.ts';

const run = promisify(execFile);
const POM = join(PROJECT_ROOT, 'stack', 'pom.xml');

export interface JarDirs {
  kafka: string;
  questdb: string;
}

function jarLayout(config: Config): { root: string; dirs: JarDirs; marker: string } {
  const hash = createHash('sha256').update(readFileSync(POM, 'utf8')).digest('hex').slice(0, 16);
  const root = join(config.cacheDir, 'jars', hash);
  return { root, dirs: { kafka: join(root, 'kafka'), questdb: join(root, 'questdb') }, marker: join(root, '.complete') };
}

/** Where the jars of the current pom live, resolved or not (status must not download). */
export function jarDirs(config: Config): JarDirs {
  return jarLayout(config).dirs;
}

/**
 * Resolves the servers' jars with Maven into the cache directory (outside git), once per
 * pom content: a marker named after the pom's hash says the copy is complete.
 */
export async function ensureJars(config: Config, log: Logger): Promise<JarDirs> {
  const { root, dirs, marker } = jarLayout(config);
  if (existsSync(marker)) return dirs;

  await requireMaven();
  mkdirSync(root, { recursive: true });
  log.info({ dir: root }, 'resolving Kafka and QuestDB jars from Maven Central (first run only)');
  process.stderr.write(`stack: resolving Kafka and QuestDB jars with Maven into ${root} (first run only; may take a minute)\n`);
  try {
    await run('mvn', ['-q', '-B', '-f', POM, `-Dstack.jars=${root}`, 'package'], { maxBuffer: 64 * 1024 * 1024 });
  } catch (cause) {
    const e = cause as { stdout?: string; stderr?: string };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new NovaError('STACK_JARS_UNRESOLVED', `Maven could not resolve the stack's jars (is Maven Central reachable?):\n${output}`, { retriable: true, cause });
  }
  for (const dir of Object.values(dirs)) {
    if (!existsSync(dir) || readdirSync(dir).length === 0) throw new NovaError('STACK_JARS_UNRESOLVED', `Maven finished but ${dir} is empty`);
  }
  writeFileSync(marker, new Date().toISOString());
  return dirs;
}

/** Version of a server from its jar's file name (e.g. questdb-9.3.2.jar → 9.3.2). */
export function jarVersion(dir: string, artifact: string): string {
  const re = new RegExp(`^${artifact}-(\\d[^/]*)\\.jar$`);
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    const m = re.exec(f);
    if (m?.[1]) return m[1];
  }
  return 'unknown';
}
