/**
 * One end-to-end setting of bench:ingest: fresh topics and tables under a unique prefix,
 * `novacron worker` child processes (the real CLI, anomaly scoring on as by default), bench
 * producer child processes, and a poller that reads QuestDB while it runs.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createBus, loadConfig, PROJECT_ROOT, questdbTable, topicsFor, topicSpecs, type Logger, type QuestDbClient } from '../../core/index.ts';
import { dropSampleTables, ensureSampleTables, SAMPLE_TABLES } from '../../streams/index.ts';
import { BUCKET_MS, LandingTracker } from './latency.ts';
import { deleteGroup, waitForStableGroup } from './consumer-group.ts';
import { workerProcessArgs } from '../../cli/worker-launch.ts';
import { cpuBudget, cpuSeconds, cpuSnapshot, RssSampler, stopChild, waitForLine, type Children, type CpuBudget } from './procs.ts';

export type Adapter = 'kafkajs' | 'rdkafka';

export interface SettingSpec {
  adapter: Adapter;
  workers: number;
  producers: number;
  vms: number;
  /** Target samples/s over all producers, or 'max' (closed loop: as fast as Kafka takes them). */
  rate: number | 'max';
  seconds: number;
  partitions: number;
  /** Seconds at the start left out of the figures (group joins, JIT, first WAL commits). */
  warmupSeconds: number;
  /** Most seconds to wait after producing stops for the rest to land. */
  drainSeconds: number;
  /** When set, worker 1 runs under `node --cpu-prof` writing into this folder. */
  profileDir?: string;
  /** The stack's server processes, whose CPU goes into `cpu` (absent: they count as other). */
  serverPids?: { questdb?: number; kafka: readonly (number | undefined)[] };
}

export interface SettingResult {
  spec: SettingSpec;
  /** Rows (VM + host samples) that became queryable per second in the steady window. */
  samplesPerS: number;
  /** Samples the producers made per second in the same window (agent side). */
  producedPerS: number;
  p50: number;
  p99: number;
  /** Share of the steady window's VM samples visible by the end of the drain. */
  landedShare: number;
  /** Samples made but not yet queryable when producing stopped. */
  backlogAtEnd: number;
  workerRssMb: number;
  /**
   * CPU time of all workers (user + system, from ready until the drain ended) ÷ rows landed by
   * then, µs. Fairer than samples/s on a shared box: other processes' load barely moves it.
   */
  workerCpuUsPerSample: number;
  /** Where the machine's CPU went in the steady window, µs per landed sample, by process role. */
  cpu: CpuBudget;
  /** The steady window (wall clock, ms), and when worker 1 was started (to place its profile). */
  steady: { fromMs: number; toMs: number };
  firstWorkerStartMs: number;
}

const POLL_MS = 250;
/**
 * Each poll counts at most this many buckets (10 s of samples) from the oldest open one. Why:
 * behind a backlog the open buckets span up to 90 s, and counting them all every 250 ms (9M
 * rows at 100,000 samples/s) took ~10 % of QuestDB's CPU in a saturated run (JFR), slowing the
 * pipeline being measured. Buckets past the span are seen once the span reaches them, so in a
 * saturated run their latency reads late; such runs' latencies are not read (see `saturated`).
 */
const POLL_SPAN_BUCKETS = 10_000 / BUCKET_MS;

interface Point {
  t: number;
  n: number;
}

/** Linear interpolation of a non-decreasing counter series at time t. */
function at(series: readonly Point[], t: number): number {
  if (series.length === 0) return 0;
  if (t <= series[0]!.t) return series[0]!.n;
  for (let i = 1; i < series.length; i++) {
    const b = series[i]!;
    if (b.t >= t) {
      const a = series[i - 1]!;
      return b.t === a.t ? b.n : a.n + ((b.n - a.n) * (t - a.t)) / (b.t - a.t);
    }
  }
  return series[series.length - 1]!.n;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Runs one setting and cleans its topics and tables up, whatever happens. */
export async function runSetting(spec: SettingSpec, questdb: QuestDbClient, children: Children, log: Logger, say: (line: string) => void): Promise<SettingResult> {
  const id = randomBytes(4).toString('hex');
  const env: Record<string, string> = {
    NOVACRON_TOPIC_PREFIX: `bi${id}`,
    NOVACRON_TABLE_PREFIX: `bi${id}_`,
    NOVACRON_KAFKA_PARTITIONS: String(spec.partitions),
    NOVACRON_KAFKA_CLIENT: spec.adapter,
    NOVACRON_LOG_LEVEL: 'warn',
    // Several workers on one machine: no /metrics listener, so no port can clash.
    NOVACRON_WORKER_METRICS_PORT: '0',
  };
  const childEnv = { ...process.env, ...env };
  const config = loadConfig(process.env, env);
  const bus = createBus(config, log);
  const vmTable = questdbTable(config, SAMPLE_TABLES.vm);
  const hostTable = questdbTable(config, SAMPLE_TABLES.host);
  const cleanup = children.onCleanup(`topics and tables of bi${id}`, async () => {
    await bus.deleteTopics(Object.values(topicsFor(config))).catch((err: unknown) => say(`  (could not delete topics bi${id}.*: ${(err as Error).message})`));
    await dropSampleTables(config, questdb);
    await deleteGroup(config, `${config.kafka.topicPrefix}-streams`);
  });
  const workers: ChildProcess[] = [];
  const producers: ChildProcess[] = [];
  let rss: RssSampler | undefined;
  try {
    await bus.ensureTopics(topicSpecs(config));
    await ensureSampleTables(config, questdb);

    const firstWorkerStartMs = Date.now();
    for (let i = 0; i < spec.workers; i++) {
      const prof = i === 0 && spec.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${spec.profileDir}`] : [];
      const w = children.track(spawn(process.execPath, workerProcessArgs(prof), { cwd: PROJECT_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] }));
      workers.push(w);
    }
    await Promise.all(workers.map((w, i) => waitForLine(w, /^worker: consuming/, 90_000, `worker ${i + 1}`)));
    // Keep reading their output (a full pipe would stall them); remember the tail for errors.
    const tails = workers.map(() => '');
    workers.forEach((w, i) => {
      const keep = (d: Buffer) => (tails[i] = (tails[i] + d.toString()).slice(-2000));
      w.stdout!.on('data', keep);
      w.stderr!.on('data', keep);
    });
    await waitForStableGroup(config, `${config.kafka.topicPrefix}-streams`, spec.workers, 60_000);
    // Start-up (tsx compiling, group join) is left out: it is paid once, not per sample.
    const cpuAtReady = workers.map((w) => cpuSeconds(w.pid) ?? 0);
    rss = new RssSampler(() => workers.map((w) => w.pid));

    const tracker = new LandingTracker();
    const produced: Point[] = [{ t: Date.now(), n: 0 }];
    let producedTotal = 0;
    let producerError: Error | undefined;
    const done: Promise<void>[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < spec.producers; i++) {
      const args = ['--vms', String(spec.vms), '--rate', String(spec.rate), '--index', String(i), '--count', String(spec.producers)];
      const p = children.track(fork(join(PROJECT_ROOT, 'bench', 'ingest', 'producer-child.ts'), args, { cwd: PROJECT_ROOT, env: childEnv, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
      let err = '';
      p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-3000)));
      p.stdout!.resume();
      p.on('message', (m: { type: string; vm?: number; host?: number; buckets?: [number, number][] }) => {
        if (m.type !== 'progress') return;
        for (const [bucket, rows] of m.buckets ?? []) tracker.addProduced(bucket, rows);
        producedTotal += (m.vm ?? 0) + (m.host ?? 0);
        produced.push({ t: Date.now(), n: producedTotal });
      });
      done.push(new Promise((resolve) => p.on('exit', (code) => {
        if (code !== 0) producerError ??= new Error(`producer ${i + 1} exited (${code}):\n${err}`);
        resolve();
      })));
      ready.push(new Promise<void>((resolve, reject) => {
        p.on('message', (m: { type: string }) => m.type === 'ready' && resolve());
        p.on('exit', (code) => reject(new Error(`producer ${i + 1} exited (${code}) before it was ready:\n${err}`)));
      }));
      producers.push(p);
    }
    await Promise.all(ready);
    for (const p of producers) p.send({ type: 'start' });
    const t0 = Date.now();
    const warmEnd = t0 + spec.warmupSeconds * 1000;
    const prodEnd = t0 + spec.seconds * 1000;

    const landed: Point[] = [{ t: t0, n: 0 }];
    let landedNow = 0;
    const poll = async () => {
      const pollStart = Date.now();
      const from = tracker.pollFrom(pollStart, 90_000);
      const [buckets, vm, host] = await Promise.all([
        questdb.query<{ b: string; n: string }>(`select cast(ts as long) / ${BUCKET_MS * 1000} b, count() n from '${vmTable}' where ts >= ${from * BUCKET_MS * 1000} and ts < ${(from + POLL_SPAN_BUCKETS) * BUCKET_MS * 1000}`),
        questdb.query<{ n: string }>(`select count() n from '${vmTable}'`),
        questdb.query<{ n: string }>(`select count() n from '${hostTable}'`),
      ]);
      tracker.observe(pollStart, new Map(buckets.map((r) => [Number(r.b), Number(r.n)])));
      landedNow = Number(vm[0]?.n ?? 0) + Number(host[0]?.n ?? 0);
      landed.push({ t: pollStart, n: landedNow });
    };
    const roles = { questdb: [spec.serverPids?.questdb], kafka: spec.serverPids?.kafka ?? [], producers: producers.map((p) => p.pid), workers: workers.map((w) => w.pid) };
    let cpuAtWarmEnd: ReturnType<typeof cpuSnapshot> | undefined;
    let landedAtWarmEnd = 0;
    let lastSay = t0;
    let lastLanded = 0;
    let lastProduced = 0;
    const progress = (phase: string) => {
      const now = Date.now();
      if (now - lastSay < 5000) return;
      const dt = (now - lastSay) / 1000;
      const window = tracker.summary(now - 10_000, now - 2_000, now);
      say(`  [${spec.adapter} ×${spec.workers}w] ${phase} ${((now - t0) / 1000).toFixed(0)} s: produced ${fmt((producedTotal - lastProduced) / dt)}/s, landed ${fmt((landedNow - lastLanded) / dt)}/s, backlog ${fmt(producedTotal - landedNow)}, recent p50 ${window.p50.toFixed(2)} s, worker RSS ${rss!.peaks().map((mb) => mb.toFixed(0)).join(' / ')} MiB`);
      lastSay = now;
      lastLanded = landedNow;
      lastProduced = producedTotal;
    };
    while (Date.now() < prodEnd) {
      const started = Date.now();
      await poll();
      if (cpuAtWarmEnd === undefined && Date.now() >= warmEnd) {
        cpuAtWarmEnd = cpuSnapshot(roles);
        landedAtWarmEnd = landedNow;
      }
      progress('running');
      if (producerError) throw producerError;
      const exited = workers.find((w) => w.exitCode !== null);
      if (exited) throw new Error(`a worker exited (${exited.exitCode}) during the run:\n${tails[workers.indexOf(exited)]}`);
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (Date.now() - started))));
    }
    const cpu = cpuBudget(cpuAtWarmEnd ?? cpuSnapshot(roles), cpuSnapshot(roles), landedNow - landedAtWarmEnd);
    for (const p of producers) p.send({ type: 'stop' });
    await Promise.all(done);
    if (producerError) throw producerError;
    const stoppedAt = Date.now();
    // Drain: let what was produced land (or give up), so late samples count with their latency.
    for (;;) {
      const started = Date.now();
      await poll();
      progress('draining');
      if (landedNow >= producedTotal || Date.now() - stoppedAt > spec.drainSeconds * 1000) break;
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (Date.now() - started))));
    }
    const endedAt = Date.now();
    const workerCpuS = workers.reduce((sum, w, i) => sum + ((cpuSeconds(w.pid) ?? cpuAtReady[i]!) - cpuAtReady[i]!), 0);
    rss.stop();
    const workerRssMb = rss.peak();
    await Promise.all(workers.map((w) => stopChild(w)));

    const steadyS = (prodEnd - warmEnd) / 1000;
    const lat = tracker.summary(warmEnd, prodEnd, endedAt);
    return {
      spec,
      samplesPerS: (at(landed, prodEnd) - at(landed, warmEnd)) / steadyS,
      producedPerS: (at(produced, prodEnd) - at(produced, warmEnd)) / steadyS,
      p50: lat.p50,
      p99: lat.p99,
      landedShare: lat.produced > 0 ? lat.landed / lat.produced : 0,
      backlogAtEnd: Math.max(0, at(produced, prodEnd) - at(landed, prodEnd)),
      workerRssMb,
      workerCpuUsPerSample: landedNow > 0 ? (workerCpuS * 1e6) / landedNow : NaN,
      cpu,
      steady: { fromMs: warmEnd, toMs: prodEnd },
      firstWorkerStartMs,
    };
  } finally {
    rss?.stop();
    await Promise.all([...producers, ...workers].map((c) => stopChild(c, 15_000)));
    await cleanup();
  }
}
