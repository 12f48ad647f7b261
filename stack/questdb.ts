import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureQuestdbPassword, type Config } from '../core/index.ts';
import { jarVersion } from './jars.ts';
import type { StackService } from './service.ts';
import { javaBinary } from './tools.ts';

function serverConf(config: Config): string {
  const { host, httpPort, pgPort, ilpTcpPort } = config.questdb;
  return [
    '# Written by `novacron stack up` on every start; edit stack/questdb.ts instead.',
    `http.bind.to=${host}:${httpPort}`,
    `http.min.net.bind.to=${host}:${httpPort + 3}`,
    `pg.net.bind.to=${host}:${pgPort}`,
    `line.tcp.net.bind.to=${host}:${ilpTcpPort}`,
    'line.udp.enabled=false',
    // No network beyond package registries here; telemetry would only log failures.
    'telemetry.enabled=false',
    // Not QuestDB's built-in admin/quest: the password is generated per checkout (core/questdb-secret.ts).
    `pg.user=${config.questdb.pgUser}`,
    `pg.password=${ensureQuestdbPassword(config)}`,
    '',
  ].join('\n');
}

/**
 * QuestDB's log.conf: one writer, its stdout (the stack's questdb.log), at NOVACRON_QUESTDB_LOG_LEVELS
 * (config.questdb.logLevels: errors and advisories by default; INFO logged every WAL apply).
 */
export function logConf(config: Config): string {
  return [
    '# Written by `novacron stack up` on every start; edit stack/questdb.ts instead.',
    'writers=stdout',
    'w.stdout.class=io.questdb.log.LogConsoleWriter',
    `w.stdout.level=${config.questdb.logLevels}`,
    '',
  ].join('\n');
}

/** QuestDB server from its Maven Central jar; data under the stack's home folder. */
export function questdbService(config: Config, jarsDir: string): StackService {
  const java = javaBinary(config.java.questdbHome);
  const { host, httpPort } = config.questdb;
  return {
    name: 'questdb',
    endpoint: `http://${host}:${httpPort} (console, ILP), pg wire ${host}:${config.questdb.pgPort}`,
    version: jarVersion(jarsDir, 'questdb'),
    startTimeoutMs: 90_000,
    ready: async () => {
      const res = await fetch(`http://${host}:${httpPort}/exec?query=${encodeURIComponent('select 1')}`, { signal: AbortSignal.timeout(2000) });
      return res.ok;
    },
    command: async (dir) => {
      const root = join(dir, 'root');
      mkdirSync(join(root, 'conf'), { recursive: true });
      // Holds the PG-wire password: owner-only.
      writeFileSync(join(root, 'conf', 'server.conf'), serverConf(config), { mode: 0o600 });
      chmodSync(join(root, 'conf', 'server.conf'), 0o600);
      writeFileSync(join(root, 'conf', 'log.conf'), logConf(config));
      return {
        command: java,
        args: ['-Xms256m', '-Xmx2g', '-XX:+UseParallelGC', '-Djava.awt.headless=true', '-cp', join(jarsDir, '*'), 'io.questdb.ServerMain', '-d', root],
      };
    },
  };
}
