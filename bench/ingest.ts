/**
 * bench:ingest — the ingest pipeline end to end on this machine, next to the machine's raw limits
 * measured in the same run.
 *   npm run bench:ingest [-- --vms 100000 --seconds 60 --rate 100000|max --producers 2 --adapters kafkajs,rdkafka --workers 1,2 --profile]
 *   npm run bench:ingest -- --quick            (20k VMs, 15 s, kafkajs × 1 worker, short raw limits)
 *
 * Raw limits: Kafka's own ProducerPerformance against the stack's broker (records the size of
 * our Avro VM samples), and direct ILP writes of the same rows into QuestDB from Node under
 * several Sender settings (the best is the reference).
 * End to end, per setting (producer adapter × worker count): bench producer processes (synthetic
 * fleet → SamplePublisher → createBus) → Kafka → `novacron worker` processes (anomaly scoring on)
 * → QuestDB, with throughput and sample-to-queryable latency read from QuestDB while it runs.
 * Every topic and table is under a unique prefix and removed at the end, also on Ctrl-C.
 * Last line: `ingest samples_per_s=… p99_latency_s=… ilp_ratio=… vms=… worker_rss_mb=…` (best setting).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createBus, createLogger, describeError, KafkaJsBus, loadConfig, questdbPgUrl, QuestDbClient } from '../core/index.ts';
import { encodeVmSample } from '../schemas/index.ts';
import { fleetRows, ilpVariants, runIlpVariant, type IlpResult, type IlpVariant } from './ingest/ilp-direct.ts';
import { dropSampleTables } from '../streams/index.ts';
import { stackStatus } from '../stack/index.ts';
import { kafkaProducerPerf, type KafkaPerfResult } from './ingest/kafka-perf.ts';
import { runSetting, type Adapter, type SettingResult, type SettingSpec } from './ingest/pipeline.ts';
import { Children } from './ingest/procs.ts';
import { findProfile, summarizeProfile } from './ingest/profile.ts';

const USAGE = `usage: npm run bench:ingest -- [options]
  --vms N            fleet size (hosts = vms/8; default 100000, quick 20000)
  --seconds N        producing time per setting (default 60, quick 15); the first quarter (3-15 s) is warm-up
  --rate N|max       target samples/s over all producers, open loop (default 100000, the goal; quick 60000); max = as fast as Kafka takes them
  --producers N      producer processes (default 2, quick 1)
  --partitions N     partitions of the sample topics (default 16)
  --adapters LIST    producer/consumer adapters (default kafkajs,rdkafka)
  --workers LIST     worker counts (default 1,2)
  --profile          run worker 1 of the first setting under node --cpu-prof and print its hot spots
  --skip-raw         skip the raw limits (Kafka perf tool, direct ILP)
  --quick            20k VMs, 15 s, kafkajs × 1 worker, short raw limits`;

const { values } = parseArgs({
  options: {
    vms: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string' },
    producers: { type: 'string' },
    partitions: { type: 'string', default: '16' },
    adapters: { type: 'string' },
    workers: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'skip-raw': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const quick = values.quick;
const int = (v: string | undefined, fallback: number, name: string): number => {
  const n = Number(v ?? fallback);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench:ingest: --${name} must be a positive integer\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const vms = int(values.vms, quick ? 20_000 : 100_000, 'vms');
const seconds = int(values.seconds, quick ? 15 : 60, 'seconds');
const rate: number | 'max' = values.rate === 'max' ? 'max' : int(values.rate, quick ? 60_000 : 100_000, 'rate');
const producers = int(values.producers, quick ? 1 : 2, 'producers');
const partitions = int(values.partitions, 16, 'partitions');
const adapters = (values.adapters ?? (quick ? 'kafkajs' : 'kafkajs,rdkafka')).split(',').map((a) => a.trim()) as Adapter[];
const workerCounts = (values.workers ?? (quick ? '1' : '1,2')).split(',').map((w) => int(w, 1, 'workers'));
for (const a of adapters) {
  if (a !== 'kafkajs' && a !== 'rdkafka') {
    console.error(`bench:ingest: unknown adapter "${a}" (kafkajs or rdkafka)`);
    process.exit(2);
  }
}

const say = (line: string) => console.log(line);
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const secs = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—');
const config = loadConfig();
const log = createLogger('bench-ingest', 'warn');
const questdb = new QuestDbClient(questdbPgUrl(config));
const children = new Children();
const runId = randomBytes(3).toString('hex');

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) return;
  interrupted = true;
  say('\nbench:ingest: interrupted; stopping child processes and removing topics and tables …');
  void children.shutdown().finally(() => questdb.close().finally(() => process.exit(130)));
});

/** Why the rdkafka adapter cannot run here, or undefined when it can. */
async function rdkafkaMissing(): Promise<string | undefined> {
  const name = 'node-rdkafka';
  try {
    await import(name);
  } catch (err) {
    return `node-rdkafka cannot be loaded (${(err as Error).message.split('\n')[0]})`;
  }
  const bus = createBus(loadConfig(process.env, { NOVACRON_KAFKA_CLIENT: 'rdkafka' }), log);
  if (bus instanceof KafkaJsBus) return 'createBus does not pick an rdkafka adapter for NOVACRON_KAFKA_CLIENT=rdkafka yet';
  return undefined;
}

async function kafkaLimits(): Promise<KafkaPerfResult[]> {
  const vmSamples = fleetRows(8_000).flatMap((r) => (r.kind === 'vm' ? [r.sample] : []));
  const recordSize = Math.round(vmSamples.reduce((sum, v) => sum + encodeVmSample(v).length, 0) / vmSamples.length);
  const topic = `bi${runId}.perf`;
  const bus = createBus(config, log);
  await bus.ensureTopics([{ topic, partitions }]);
  const removeTopic = children.onCleanup(`topic ${topic}`, () => bus.deleteTopics([topic]));
  const records = quick ? 500_000 : 3_000_000;
  const out: KafkaPerfResult[] = [];
  try {
    for (const [label, props] of [
      ['producer defaults (acks=all)', []],
      ['batch.size=256KiB linger.ms=20', ['batch.size=262144', 'linger.ms=20']],
    ] as [string, string[]][]) {
      if (interrupted) break;
      say(`  kafka ProducerPerformance, ${fmt(records)} records × ${recordSize} B, ${label} …`);
      const r = await kafkaProducerPerf(config, children, { topic, records, recordSize, props: ['max.block.ms=15000', ...props], label });
      say(`    ${fmt(r.recordsPerS)} records/s (${r.mbPerS.toFixed(1)} MB/s), avg latency ${r.avgLatencyMs.toFixed(0)} ms, p99 ${r.p99LatencyMs} ms`);
      out.push(r);
    }
  } finally {
    await removeTopic();
  }
  return out;
}

async function ilpLimits(questdbPid: number | undefined): Promise<IlpResult[]> {
  const rows = fleetRows(vms);
  const seconds = quick ? 2 : 5;
  const results: IlpResult[] = [];
  const prefix = (i: number) => `bi${runId}_ilp${i}_`;
  const show = (r: IlpResult) => say(r.error
    ? `    ${r.label} ×${r.senders}: failed: ${r.error}`
    : `    ${r.label}${r.senders > 1 ? ` × ${r.senders} senders` : ''}: ${fmt(r.landedRowsPerS)} rows/s queryable (client ${fmt(r.clientRowsPerS)}/s, ${fmt(r.rows)} rows${Number.isFinite(r.questdbUsPerRow) ? `, QuestDB CPU ${r.questdbUsPerRow.toFixed(1)} µs/row` : ''})`);
  // Each variant drops its tables itself; the registered clean-up covers a Ctrl-C mid-variant.
  const run = async (i: number, variant: IlpVariant, secs: number): Promise<IlpResult> => {
    const tables = loadConfig(process.env, { NOVACRON_TABLE_PREFIX: prefix(i) });
    const drop = children.onCleanup(`ILP tables ${prefix(i)}*`, () => dropSampleTables(tables, questdb));
    try {
      return await runIlpVariant(config, questdb, prefix(i), variant, rows, secs, questdbPid);
    } finally {
      await drop();
    }
  };
  // A short untimed pass first: the first variant must not pay for JIT warm-up and connects.
  await run(0, { ...ilpVariants()[2]!, label: 'warm-up' }, 1);
  let i = 1;
  for (const variant of ilpVariants()) {
    if (interrupted) return results;
    const r = await run(i++, variant, seconds);
    show(r);
    results.push(r);
  }
  const best = [...results].sort((a, b) => b.landedRowsPerS - a.landedRowsPerS)[0]!;
  for (const senders of [2, 4]) {
    if (interrupted) return results;
    const r = await run(i++, { ...best, senders }, seconds);
    show(r);
    results.push(r);
  }
  return results;
}

/** The pipeline could not keep up: a backlog of more than two seconds of its own throughput. */
const saturated = (r: SettingResult) => r.backlogAtEnd > 2 * Math.max(r.samplesPerS, 1) || r.landedShare < 0.99;

/** The goal's bound on one worker's peak resident memory (issue 10: ≤ 2 GB). */
const WORKER_RSS_GOAL_MB = 2048;

/**
 * Order of settings, best first: the most samples/s landed, then one that kept up before one
 * that did not, then one whose workers stayed within WORKER_RSS_GOAL_MB, then the lower p99.
 * Landed/s over the window is the offered rate ± the window's edges (62,198/s landed from
 * 60,022/s produced, a setting that was catching up on its warm-up backlog): it counts at most
 * as much as was produced, and rates within 2 % count as equal, so among settings fed the same
 * rate the noise does not pick the winner.
 */
function bestFirst(a: SettingResult, b: SettingResult): number {
  const landed = (r: SettingResult) => Math.min(r.samplesPerS, r.producedPerS);
  const [la, lb] = [landed(a), landed(b)];
  if (Math.abs(la - lb) > 0.02 * Math.max(la, lb)) return lb - la;
  if (saturated(a) !== saturated(b)) return saturated(a) ? 1 : -1;
  const overMemory = (r: SettingResult) => r.workerRssMb > WORKER_RSS_GOAL_MB;
  if (overMemory(a) !== overMemory(b)) return overMemory(a) ? 1 : -1;
  return a.p99 - b.p99;
}

/** Where the machine's CPU went in a setting's steady window. */
function cpuLine(c: SettingResult['cpu']): string {
  const us = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
  const total = c.questdb + c.kafka + c.producers + c.workers + c.other;
  return `CPU per landed sample (steady window): QuestDB ${us(c.questdb)} µs, Kafka ${us(c.kafka)}, producers ${us(c.producers)}, workers ${us(c.workers)}, other ${us(c.other)}; ${us(total)} µs in all, the machine ${(100 * c.busyShare).toFixed(0)} % busy (${c.cores} cores)`;
}

async function main(): Promise<number> {
  const started = Date.now();
  // The stack's servers, so each part can say where the machine's CPU went (processes not ours count as other).
  const servers = await stackStatus(config, log).catch(() => []);
  const serverPids = { questdb: servers.find((s) => s.name === 'questdb')?.pid, kafka: servers.filter((s) => s.name.startsWith('kafka')).map((s) => s.pid) };
  say(`bench:ingest: ${fmt(vms)} VMs on ${fmt(vms / 8)} hosts, ${seconds} s per setting at ${rate === 'max' ? 'max rate' : `${fmt(rate)} samples/s`}, ${partitions} partitions, ${producers} producer process(es); adapters ${adapters.join(',')}, workers ${workerCounts.join(',')}`);
  say('  (the machine is shared: figures are indicative; everything runs under unique bi* prefixes and is removed at the end)');

  let kafka: KafkaPerfResult[] = [];
  let ilp: IlpResult[] = [];
  if (!values['skip-raw']) {
    say('raw limits: Kafka');
    kafka = await kafkaLimits();
    say(`raw limits: direct ILP into QuestDB (${fmt(vms + vms / 8)} rows per fleet round; each variant ${quick ? 2 : 5} s into fresh tables, timed until queryable)`);
    ilp = await ilpLimits(serverPids.questdb);
  }
  const ilpBest = [...ilp].filter((r) => !r.error).sort((a, b) => b.landedRowsPerS - a.landedRowsPerS)[0];
  const kafkaBest = [...kafka].sort((a, b) => b.recordsPerS - a.recordsPerS)[0];

  const results: SettingResult[] = [];
  const skipped: string[] = [];
  const profileDir = values.profile ? mkdtempSync(join(tmpdir(), 'bench-ingest-prof-')) : undefined;
  let profiled: SettingResult | undefined;
  for (const adapter of adapters) {
    if (interrupted) break;
    if (adapter === 'rdkafka') {
      const why = await rdkafkaMissing();
      if (why) {
        say(`rdkafka: not installed (${why})`);
        skipped.push('rdkafka: not installed');
        continue;
      }
    }
    for (const workers of workerCounts) {
      if (interrupted) break;
      const spec: SettingSpec = {
        adapter, workers, producers, vms, rate, seconds, partitions,
        warmupSeconds: Math.min(15, Math.max(3, seconds / 4)),
        drainSeconds: quick ? 15 : 30,
        profileDir: profileDir && !profiled && results.length === 0 ? profileDir : undefined,
        serverPids,
      };
      say(`end to end: ${adapter}, ${workers} worker(s)${spec.profileDir ? ' (worker 1 under --cpu-prof)' : ''} …`);
      try {
        const r = await runSetting(spec, questdb, children, log, say);
        results.push(r);
        if (spec.profileDir) profiled = r;
        say(`  → landed ${fmt(r.samplesPerS)} samples/s (producers ${fmt(r.producedPerS)}/s), p50 ${secs(r.p50)} s, p99 ${secs(r.p99)} s, worker RSS ${r.workerRssMb.toFixed(0)} MiB, worker CPU ${r.workerCpuUsPerSample.toFixed(1)} µs/sample`);
        say(`    ${cpuLine(r.cpu)}`);
      } catch (err) {
        if (interrupted) break;
        say(`  → failed: ${describeError(err)}`);
        skipped.push(`${adapter} ×${workers}: failed`);
      }
    }
  }

  // Ctrl-C: the SIGINT handler stops the children, cleans up and exits; print nothing more.
  if (interrupted) return new Promise<number>(() => undefined);
  say('');
  say(`raw limits (same run)`);
  for (const k of kafka) say(`  kafka ProducerPerformance ${k.label}: ${fmt(k.recordsPerS)} records/s`);
  const senderBest = [...ilp].filter((r) => !r.error && r.mode !== 'store').sort((a, b) => b.landedRowsPerS - a.landedRowsPerS)[0];
  if (senderBest && senderBest !== ilpBest) say(`  direct ILP, best with the Sender: ${senderBest.label}${senderBest.senders > 1 ? ` × ${senderBest.senders} senders` : ''}: ${fmt(senderBest.landedRowsPerS)} rows/s`);
  if (ilpBest) say(`  direct ILP best (the reference for ilp_ratio): ${ilpBest.label}${ilpBest.senders > 1 ? ` × ${ilpBest.senders} in parallel` : ''}: ${fmt(ilpBest.landedRowsPerS)} rows/s`);
  say('');
  const header = ['adapter', 'workers', 'target/s', 'produced/s', 'landed/s', 'p50 s', 'p99 s', 'landed %', 'backlog@end', 'saturated', 'worker RSS MiB', 'worker CPU µs/sample', 'vs ILP'];
  const rows = results.map((r) => [
    r.spec.adapter + (r === profiled ? '*' : ''), String(r.spec.workers), r.spec.rate === 'max' ? 'max' : fmt(r.spec.rate), fmt(r.producedPerS), fmt(r.samplesPerS),
    secs(r.p50), secs(r.p99), (100 * r.landedShare).toFixed(1), fmt(r.backlogAtEnd), saturated(r) ? 'yes' : 'no', r.workerRssMb.toFixed(0), r.workerCpuUsPerSample.toFixed(1), ilpBest ? (r.samplesPerS / ilpBest.landedRowsPerS).toFixed(2) : '—',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  say(line(header));
  for (const r of rows) say(line(r));
  for (const r of results) say(`${r.spec.adapter} × ${r.spec.workers}: ${cpuLine(r.cpu)}`);
  for (const s of skipped) say(s);
  if (results.some(saturated)) say('saturated = more than 2 s of samples still unqueryable when producing stopped: landed/s is the capacity, and latency grows with the run length (a queue), so read p50/p99 from an unsaturated --rate');
  if (profiled) say('* worker 1 ran under --cpu-prof (a few % slower)');

  if (profiled && profileDir) {
    const file = findProfile(profileDir);
    if (!file) say('profile: no .cpuprofile was written (did the worker exit cleanly?)');
    else {
      const p = summarizeProfile(file, profiled.firstWorkerStartMs, profiled.steady.fromMs, profiled.steady.toMs);
      say('');
      say(`worker profile (${profiled.spec.adapter}, steady window, self time; main thread busy ${(100 * p.busyShare).toFixed(0)} % = ${p.busySeconds.toFixed(1)} s CPU) — ${file}`);
      say('  by stage:');
      for (const s of p.stages) say(`    ${(100 * s.share).toFixed(1).padStart(5)} %  ${s.name}`);
      say('  top functions:');
      for (const f of p.functions) say(`    ${(100 * f.share).toFixed(1).padStart(5)} %  ${f.name}`);
    }
  }
  // BENCH_KEEP_PROFILE=1 keeps the .cpuprofile (open it in Chrome DevTools → Performance).
  if (profileDir && !process.env.BENCH_KEEP_PROFILE) rmSync(profileDir, { recursive: true, force: true });

  const best = [...results].sort(bestFirst)[0];
  say('');
  say(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (!best) {
    say('ingest: no setting completed');
    return 1;
  }
  const ratio = ilpBest ? best.samplesPerS / ilpBest.landedRowsPerS : NaN;
  say(`best: ${best.spec.adapter} × ${best.spec.workers} worker(s): p50_latency_s=${secs(best.p50)} producer_samples_per_s=${Math.round(best.producedPerS)} kafka_perf_records_per_s=${kafkaBest ? Math.round(kafkaBest.recordsPerS) : '—'} ilp_direct_rows_per_s=${ilpBest ? Math.round(ilpBest.landedRowsPerS) : '—'}`);
  say(`ingest samples_per_s=${Math.round(best.samplesPerS)} p99_latency_s=${secs(best.p99)} ilp_ratio=${Number.isFinite(ratio) ? ratio.toFixed(2) : '—'} vms=${vms} worker_rss_mb=${best.workerRssMb.toFixed(0)} worker_cpu_us_per_sample=${best.workerCpuUsPerSample.toFixed(1)}`);
  return 0;
}

main()
  .then(async (code) => {
    await children.shutdown();
    await questdb.close();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    if (interrupted) return;
    process.stderr.write(`bench:ingest: ${describeError(err)}\n${(err as Error)?.stack ?? ''}\n`);
    await children.shutdown();
    await questdb.close().catch(() => undefined);
    process.exit(1);
  });
