import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureQuestdbPassword, type Config } from '../core/index.ts';
import { jarVersion } from './jars.ts';
import { reniceThreads } from './thread-priority.ts';
import type { StackService } from './service.ts';
import { javaBinary } from './tools.ts';

/**
 * QuestDB's worker pools whose idle strategy the stack sets (every `<pool>.worker.*.threshold` key
 * QuestDB 9.3 lists in `show parameters`; a pool whose count is 0 runs on the shared pools).
 */
export const QUESTDB_WORKER_POOLS = ['shared', 'wal.apply', 'mat.view.refresh', 'view.compiler', 'export', 'http', 'http.min', 'pg', 'line.tcp.writer', 'line.tcp.io'] as const;

/**
 * Idle loops a QuestDB worker makes before it sleeps (`sleep.timeout`, 10 ms), naps or yields.
 * QuestDB's defaults (yield after 10, nap after 7,000, sleep after 10,000) keep ~14 threads
 * spinning through sched_yield after every piece of work, which suits a server with cores to
 * spare. On a host where the producers and workers share the cores, that spinning was half of
 * QuestDB's CPU: `bench:ingest` at 60,000 samples/s, 1 worker, alternated after a stack restart,
 * QuestDB 17.2 / 16.4 µs of CPU per landed sample with the defaults, 8.0 / 8.6 with these; the
 * worker kept up (58,755 / 57,159 landed/s) where it had not (44,330 / 46,405). Sleeping after
 * 100 idle loops costs at most one 10 ms wake-up per batch, nothing next to the worker's
 * 500 ms rounds. QDB_* environment variables still override these (QuestDB reads env over file).
 */
export const QUESTDB_WORKER_IDLE = { yield: 10, nap: 20, sleep: 100 } as const;

/**
 * Name prefix of QuestDB's materialized-view refresh threads (`mat-view-refresh_<n>`, cut to
 * the 15 characters Linux keeps), which the stack runs at `config.questdb.rollupNice`. Why: the
 * minute rollups refresh once a minute, aggregating the last minute of every VM at once. With
 * 100,000 VMs at 90,000 samples/s (bench:ingest, 2 workers) one refresh took ~1.7 s of CPU on
 * these threads and ~1.1 s on the shared query pool within two seconds, once a minute, on a
 * host where producers, Kafka, workers and QuestDB share two cores: ingestion lost that time,
 * and the backlog it left took ~10 s to drain. At a lower priority, on its own threads, the
 * refresh takes what the others leave; the rollups lag by up to a minute anyway.
 */
export const QUESTDB_ROLLUP_THREAD_PREFIX = 'mat-view-refres';

function workerIdleConf(): string[] {
  return QUESTDB_WORKER_POOLS.flatMap((pool) => [
    `${pool}.worker.yield.threshold=${QUESTDB_WORKER_IDLE.yield}`,
    `${pool}.worker.nap.threshold=${QUESTDB_WORKER_IDLE.nap}`,
    `${pool}.worker.sleep.threshold=${QUESTDB_WORKER_IDLE.sleep}`,
  ]);
}

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
    // Worker threads sleep soon after running out of work instead of spinning: see QUESTDB_WORKER_IDLE.
    ...workerIdleConf(),
    // A rollup refresh runs on its own threads only (single-threaded SQL, not the shared query
    // pool), so that the nice value the stack gives those threads (config.questdb.rollupNice)
    // covers all of it: see QUESTDB_ROLLUP_THREAD_PREFIX.
    'cairo.mat.view.parallel.sql.enabled=false',
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
    // Only a QuestDB the stack runs: one started elsewhere is its operator's to schedule.
    afterReady: async (pid) => {
      if (pid !== undefined && config.questdb.rollupNice > 0) reniceThreads(pid, QUESTDB_ROLLUP_THREAD_PREFIX, config.questdb.rollupNice);
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
