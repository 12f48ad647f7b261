/**
 * bench:api — the API's read routes under load, with a realistic fleet in the stores.
 *   npm run bench:api [-- --seconds 20 --rate 5000 --routes /v1/hosts,/v1/vms --hosts 2000 --vms 16000]
 *
 * Seeds an isolated PostgreSQL database and QuestDB table prefix through the product's own
 * writers (bench/api/seed.ts), starts `novacron serve` on them in a child process (the rate limit
 * set to 0 = off, so the limiter does not answer 429 to the load), and drives every read route
 * with a viewer key from a second child process running autocannon: a warm-up, then a fixed rate
 * (autocannon overallRate) for --seconds, then as fast as it goes for --max-seconds.
 * Everything created (database, tables, topic, child processes) is removed at the end, also on Ctrl-C.
 * Last line: `api rps=… p50_ms=… p95_ms=… p99_ms=… route=…` for the slowest route at the fixed rate.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBus, createLogger, createPgPool, databaseName, describeError, dropDatabase, ensureDatabase, freePort, loadConfig, migrate, questdbPgUrl, QuestDbClient, topicsFor } from '../core/index.ts';
import { ALL_MIGRATIONS } from '../cli/migrations.ts';
import { dropSampleTables, ensureSampleTables } from '../streams/index.ts';
import { startServe } from './api/api-process.ts';
import type { LoadRequest, LoadResult } from './api/load-child.ts';
import { benchRoutes, type BenchRoute } from './api/routes.ts';
import { seedFleet } from './api/seed.ts';
import { Children, cpuSeconds } from './ingest/procs.ts';

const USAGE = `usage: npm run bench:api -- [options]
  --seconds N        measured time per route at the fixed rate (default 20)
  --rate N           the fixed rate, requests/s over all connections (default 5000)
  --max-seconds N    then as fast as it goes, this long per route (default 10; 0 skips)
  --warmup N         seconds of load before each route's measurement, not counted (default 3)
  --connections N    autocannon connections (default 50)
  --accept-encoding E  Accept-Encoding of every request (default gzip, as browsers and HTTP libraries send; '' = none)
  --routes LIST      comma-separated route names as printed (default: all read routes)
  --hosts N          hosts in the seeded fleet (default 2000)
  --vms N            VMs in the seeded fleet (default 16000)
  --history-hours N  5-minute samples per VM and host, hours back from now (default 6)
  --plans N          stored plans (default 300; the newest is the live planner's on the seeded fleet)
  --anomalies N      anomaly events over the last 24 h (default 5000)
  --forecast-vms N   distinct VMs /v1/vms/:id/forecast cycles through (default 2000)
  --max-migrations N the plans' policy maxMigrationsPerPlan (default 200, a fleet in steady operation;
                     0 = uncapped: the first plan of a freshly onboarded fleet, ~12k actions here)`;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '5000' },
    'max-seconds': { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    'accept-encoding': { type: 'string', default: 'gzip' },
    routes: { type: 'string' },
    hosts: { type: 'string', default: '2000' },
    vms: { type: 'string', default: '16000' },
    'history-hours': { type: 'string', default: '6' },
    plans: { type: 'string', default: '300' },
    anomalies: { type: 'string', default: '5000' },
    'forecast-vms': { type: 'string', default: '2000' },
    'max-migrations': { type: 'string', default: '200' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const int = (name: keyof typeof values, min: number): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`bench:api: --${name} must be an integer ≥ ${min}\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const seconds = int('seconds', 1);
const rate = int('rate', 1);
const maxSeconds = int('max-seconds', 0);
const warmup = int('warmup', 0);
const connections = int('connections', 1);
const hosts = int('hosts', 1);
const vms = int('vms', 1);
const historyHours = int('history-hours', 3);
const plans = int('plans', 1);
const anomalies = int('anomalies', 1);
const forecastVms = int('forecast-vms', 1);
const maxMigrations = int('max-migrations', 0);

const say = (line: string) => console.log(line);
const PRIME_CONCURRENCY = 8;

/** GETs every path once, PRIME_CONCURRENCY at a time; throws on an answer other than 200. */
async function requestEach(url: string, token: string, paths: readonly string[], acceptEncoding: string | undefined): Promise<{ seconds: number; slowestMs: number }> {
  const started = performance.now();
  let next = 0;
  let slowestMs = 0;
  const headers = { authorization: `Bearer ${token}`, ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}) };
  await Promise.all(Array.from({ length: Math.min(PRIME_CONCURRENCY, paths.length) }, async () => {
    while (next < paths.length) {
      const path = paths[next++]!;
      const t0 = performance.now();
      const res = await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(60_000) });
      const body = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${Buffer.from(body).toString().slice(0, 300)}`);
      slowestMs = Math.max(slowestMs, performance.now() - t0);
    }
  }));
  return { seconds: (performance.now() - started) / 1000, slowestMs };
}
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—');

const runId = randomBytes(3).toString('hex');
const base = loadConfig();
const dbUrl = `${base.databaseUrl.replace(/\/[^/?]*(\?.*)?$/, '')}/novacron_bench_api_${runId}`;
const overrides = { DATABASE_URL: dbUrl, NOVACRON_TABLE_PREFIX: `ba${runId}_`, NOVACRON_TOPIC_PREFIX: `ba${runId}` };
const config = loadConfig(process.env, overrides);
const questdb = new QuestDbClient(questdbPgUrl(config));
const children = new Children();
const logDir = mkdtempSync(join(tmpdir(), 'bench-api-'));
let interrupted = false;

// Ctrl-C, or a supervisor's kill: either way nothing of the run is left behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say(`\nbench:api: ${signal}; stopping child processes, removing the database, tables and topic …`);
    void children.shutdown().finally(() => questdb.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
  });
}

interface RouteResult {
  route: BenchRoute;
  fixed?: LoadResult;
  /** Share of one core each process used during the fixed-rate run, %: which of the two is the limit. */
  cpu?: { api: number; load: number };
  max?: LoadResult;
  error?: string;
}

/** Sends one run to the load child and waits for its result, printing its progress every 5 s. */
function runLoad(child: ChildProcess, req: Omit<LoadRequest, 'type'>, label: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; second?: number; responses?: number; message?: string } & Partial<LoadResult>) => {
      if (m.type === 'progress' && m.second! % 5 === 0) say(`    ${label}: ${m.second} s, ${fmt(m.responses!)} responses in the last second`);
      if (m.type === 'result') {
        child.off('message', onMessage);
        resolve(m as unknown as LoadResult);
      }
      if (m.type === 'error') {
        child.off('message', onMessage);
        reject(new Error(m.message));
      }
    };
    child.on('message', onMessage);
    child.send({ type: 'run', ...req } satisfies LoadRequest);
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  say(`bench:api: ${fmt(hosts)} hosts / ${fmt(vms)} VMs, ${historyHours} h of 5-minute samples, ${plans} plans, ${fmt(anomalies)} anomalies; per route ${warmup} s warm-up, ${seconds} s at ${fmt(rate)} req/s, ${maxSeconds} s at max; ${connections} connections, Accept-Encoding: ${values['accept-encoding'] || '(none)'}`);
  say(`  (isolated: database ${databaseName(dbUrl)}, QuestDB tables ba${runId}_*, topic ba${runId}.anomalies; all removed at the end)`);
  say(`  load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  // Stores.
  if (!(await ensureDatabase(dbUrl))) throw new Error(`could not create database ${databaseName(dbUrl)}`);
  children.onCleanup('database', () => dropDatabase(dbUrl));
  children.onCleanup('QuestDB tables', () => dropSampleTables(config, questdb));
  children.onCleanup('anomalies topic', () => createBus(config, createLogger('bench-api', 'error')).deleteTopics([topicsFor(config).anomalies]));
  const pool = createPgPool(dbUrl);
  children.onCleanup('pool', () => pool.end());
  await migrate(pool, ALL_MIGRATIONS);
  await ensureSampleTables(config, questdb);
  say('seeding the stores …');
  const tSeed = Date.now();
  const fleet = await seedFleet(config, pool, questdb, { hosts, vms, historyHours, plans, anomalies, maxMigrations }, say);
  say(`  seeded in ${((Date.now() - tSeed) / 1000).toFixed(0)} s`);

  // The API, as `novacron serve` runs it, and the load generator, each in its own process.
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env, ...overrides,
    NOVACRON_API_HOST: '127.0.0.1', NOVACRON_API_PORT: String(port),
    // Off: one key sending 5,000 req/s is the point here; the default limit (6,000/min) would answer 429.
    NOVACRON_API_RATE_LIMIT: '0',
  };
  // BENCH_API_PROFILE=DIR: the API runs under node --cpu-prof, its profile written to DIR when it stops.
  const profileDir = process.env.BENCH_API_PROFILE;
  const api = await startServe(env, logDir, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  children.track(api.child);
  say(`API: novacron serve at ${api.url} (pid ${api.child.pid}, log level ${env.NOVACRON_LOG_LEVEL ?? 'warn (the CLI default)'}, rate limit off${env.NOVACRON_API_CACHE_MS !== undefined ? `, NOVACRON_API_CACHE_MS=${env.NOVACRON_API_CACHE_MS}` : ''})`);
  const load = children.track(fork(join(import.meta.dirname, 'api', 'load-child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  await new Promise<void>((resolve, reject) => {
    load.once('message', () => resolve());
    load.once('exit', (code) => reject(new Error(`the load generator exited (${code}) before it was ready`)));
  });

  const wanted = values.routes?.split(',').map((r) => r.trim()).filter(Boolean);
  const all = benchRoutes(fleet, forecastVms);
  const unknown = wanted?.filter((w) => !all.some((r) => r.name === w)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown --routes ${unknown.join(', ')}; the routes are: ${all.map((r) => r.name).join(', ')}`);
  const routes = wanted ? all.filter((r) => wanted.includes(r.name)) : all;

  const results: RouteResult[] = [];
  for (const route of routes) {
    if (interrupted) break;
    say(`${route.name} (${route.varies})`);
    const common = { url: api.url, token: fleet.viewerKey, paths: route.paths, connections, acceptEncoding: values['accept-encoding'] };
    const out: RouteResult = { route };
    try {
      // Each path once before the clock starts: what is measured is the steady state, not the
      // first read of each plan (reported here, apart); a route with a path that does not answer
      // 200 is reported as such, not load-tested.
      const cold = await requestEach(api.url, fleet.viewerKey, route.paths, values['accept-encoding']);
      say(`  first request of each of ${fmt(route.paths.length)} paths: ${(cold.seconds).toFixed(1)} s (${PRIME_CONCURRENCY} at a time; slowest ${ms(cold.slowestMs)} ms)`);
      if (warmup > 0) await runLoad(load, { ...common, rate, seconds: warmup }, 'warm-up');
      const cpuBefore = { api: cpuSeconds(api.child.pid), load: cpuSeconds(load.pid), at: performance.now() };
      out.fixed = await runLoad(load, { ...common, rate, seconds }, `${fmt(rate)} req/s`);
      const wallS = (performance.now() - cpuBefore.at) / 1000;
      const share = (before: number | undefined, now: number | undefined) => (before === undefined || now === undefined ? NaN : (100 * (now - before)) / wallS);
      out.cpu = { api: share(cpuBefore.api, cpuSeconds(api.child.pid)), load: share(cpuBefore.load, cpuSeconds(load.pid)) };
      say(`  at ${fmt(rate)} req/s: ${fmt(out.fixed.rps)} req/s, p50 ${ms(out.fixed.p50)} ms, p95 ${ms(out.fixed.p95)} ms, p99 ${ms(out.fixed.p99)} ms, non-2xx ${out.fixed.non2xx}, errors ${out.fixed.errors}; CPU: API ${fmt(out.cpu.api)} %, load generator ${fmt(out.cpu.load)} % of a core`);
      if (maxSeconds > 0) {
        out.max = await runLoad(load, { ...common, rate: 0, seconds: maxSeconds }, 'max');
        say(`  at max: ${fmt(out.max.rps)} req/s, p50 ${ms(out.max.p50)} ms, p95 ${ms(out.max.p95)} ms, p99 ${ms(out.max.p99)} ms, non-2xx ${out.max.non2xx}`);
      }
    } catch (err) {
      out.error = describeError(err);
      say(`  failed: ${out.error}`);
    }
    results.push(out);
  }
  if (interrupted) return new Promise<number>(() => undefined);

  say('');
  say(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores; the API and the load generator each take up to one)`);
  const header = ['route', 'target/s', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', 'errors', 'KiB/resp', 'API CPU %', 'load CPU %', 'max req/s', 'max p99 ms', 'valid'];
  const valid = (r: LoadResult | undefined) => r !== undefined && r.responses > 0 && r.non2xx === 0 && r.errors === 0;
  const rows = results.map((r) => [
    r.route.name, fmt(rate), fmt(r.fixed?.rps ?? NaN), ms(r.fixed?.p50 ?? NaN), ms(r.fixed?.p95 ?? NaN), ms(r.fixed?.p99 ?? NaN),
    String(r.fixed?.non2xx ?? '—'), String(r.fixed?.errors ?? '—'), r.fixed ? (r.fixed.bytesPerResponse / 1024).toFixed(1) : '—',
    fmt(r.cpu?.api ?? NaN), fmt(r.cpu?.load ?? NaN), fmt(r.max?.rps ?? NaN), ms(r.max?.p99 ?? NaN), valid(r.fixed) ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  say(line(header));
  for (const row of rows) say(line(row));
  const invalid = results.filter((r) => !valid(r.fixed));
  for (const r of invalid) say(`invalid: ${r.route.name}: ${r.error ?? `${r.fixed?.non2xx} non-2xx answers, ${r.fixed?.errors} errors${r.fixed?.sample.length ? ` (${r.fixed.sample.join('; ')})` : ''}`} — its figures do not count`);
  const serveErrors = readFileSync(api.stderrFile, 'utf8').split('\n').filter((l) => /"level":(50|60)/.test(l));
  if (serveErrors.length > 0) say(`serve logged ${serveErrors.length} error line(s), first: ${serveErrors[0]!.slice(0, 400)}`);

  say('');
  say(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  // The slowest route: the highest p95 at the fixed rate; a route with non-2xx answers counts as the slowest of all.
  const measured = results.filter((r) => r.fixed);
  if (measured.length === 0) {
    say('api: no route was measured');
    return 1;
  }
  const slowest = [...measured].sort((a, b) => Number(valid(a.fixed)) - Number(valid(b.fixed)) || b.fixed!.p95 - a.fixed!.p95)[0]!;
  const f = slowest.fixed!;
  say(`api rps=${Math.round(f.rps)} p50_ms=${ms(f.p50)} p95_ms=${ms(f.p95)} p99_ms=${ms(f.p99)} route=${slowest.route.name}${valid(f) ? '' : ' invalid=non-2xx'}`);
  return invalid.length === 0 ? 0 : 1;
}

const finish = async (code: number) => {
  await children.shutdown();
  await questdb.close().catch(() => undefined);
  rmSync(logDir, { recursive: true, force: true });
  process.exit(code);
};

main()
  .then(finish)
  .catch(async (err: unknown) => {
    if (interrupted) return;
    process.stderr.write(`bench:api: ${describeError(err)}\n${(err as Error)?.stack ?? ''}\n`);
    await finish(1);
  });
