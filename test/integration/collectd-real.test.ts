// collectd 5.12 (Debian's collectd-core) on a real libvirtd with QEMU guests (stack/libvirt-hosts.ts),
// configured by ingest/collectd's generator, writing JSON to our Kafka; the streams worker reads
// the collectd topic through CollectdDecoder into QuestDB. Asserts VM rows for the guests, checked
// against what libvirt itself says (virsh domstats), and a host row for this machine.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { questdbTable, topicSpecs, topicsFor } from '../../core/index.ts';
import { collectdConfig } from '../../ingest/index.ts';
import { acquireRealHosts, type RealHosts } from '../../stack/index.ts';
import { collectdDecoders, createSampleWorker, DLQ_HEADERS, dropSampleTables, ensureSampleTables, SAMPLE_TABLES, type SampleWorker } from '../../streams/index.ts';
import { busFor, eventually, isolatedConfig, questdbFor, readTopic, testLogger } from './harness.ts';

const run = promisify(execFile);
const INTERVAL_S = 2;

/** Why collectd with its virt and write_kafka plugins cannot run here, or null. */
async function collectdUnavailable(): Promise<string | null> {
  const missing: string[] = [];
  if (!(await run('sh', ['-c', 'command -v collectd']).then(() => true, () => false))) missing.push('collectd');
  for (const so of ['virt.so', 'write_kafka.so']) {
    if (!(await access(`/usr/lib/collectd/${so}`).then(() => true, () => false))) missing.push(`/usr/lib/collectd/${so}`);
  }
  return missing.length === 0 ? null : `missing ${missing.join(', ')}: apt-get install --no-install-recommends collectd-core librdkafka1 libvirt0 (./novacron test does it as root)`;
}

const acquired = await acquireRealHosts();
let skip: string | false = 'skip' in acquired ? acquired.skip : false;
if (!skip) {
  const why = await collectdUnavailable();
  if (why && process.env['CI'] === 'true') throw new Error(`collectd test impossible in CI: ${why}`);
  if (why) skip = why;
}
const hosts = 'skip' in acquired ? undefined : (acquired as RealHosts);

describe('collectd → Kafka → CollectdDecoder → QuestDB, on a real libvirtd', { skip }, () => {
  const config = isolatedConfig();
  const topics = topicsFor(config);
  const bus = busFor(config);
  const questdb = questdbFor(config);
  const hostId = `collectd-it-${process.pid}`;
  let dir: string;
  let collectd: ChildProcess | undefined;
  let output = '';
  let worker: SampleWorker | undefined;
  const guests: string[] = [];

  before(async () => {
    await bus.ensureTopics(topicSpecs(config, 2));
    await ensureSampleTables(config, questdb);
    guests.push(await hosts!.bootGuest({ nic: true }), await hosts!.bootGuest());
    dir = await mkdtemp(join(tmpdir(), 'novacron-collectd-'));
    const file = join(dir, 'collectd.conf');
    // Only this test's guests: other tests' guests on the same libvirtd are theirs to watch.
    await writeFile(file, collectdConfig({ hostId, libvirtUri: hosts!.uriA, brokers: config.kafka.brokers, topic: topics.collectd, intervalSeconds: INTERVAL_S, refreshSeconds: INTERVAL_S, domains: guests }));
    collectd = spawn('collectd', ['-f', '-C', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    collectd.stdout!.on('data', (d) => (output += d));
    collectd.stderr!.on('data', (d) => (output += d));
    worker = await createSampleWorker(config, bus, testLogger(), { decoders: collectdDecoders(config), anomalies: false, processMetrics: false });
    await worker.start();
  });

  after(async () => {
    const steps = [
      async () => {
        if (!collectd || collectd.exitCode !== null) return;
        const exited = new Promise((r) => collectd!.once('exit', r));
        collectd.kill('SIGTERM');
        const timer = setTimeout(() => collectd!.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
      () => worker?.stop(),
      () => hosts?.teardown(),
      () => bus.deleteTopics(Object.values(topics)),
      () => dropSampleTables(config, questdb),
      () => questdb.close(),
      () => rm(dir, { recursive: true, force: true }),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('stores a row per guest and interval with the values libvirt reports, and the host\'s own row', async () => {
    const vmTable = questdbTable(config, SAMPLE_TABLES.vm);
    const hostTable = questdbTable(config, SAMPLE_TABLES.host);
    const list = guests.map((g) => `'${g}'`).join(',');
    type VmRow = { ts: Date; host_id: string; vm_id: string; cpu_used_cores: number; vcpus: number; mem_used_bytes: bigint | number; mem_total_bytes: bigint | number; disk_read_bps: number; disk_write_bps: number; net_rx_bps: number; net_tx_bps: number };
    const rows = await eventually(
      () => questdb.query<VmRow>(`select * from ${vmTable} where vm_id in (${list}) order by ts`).catch(() => [] as VmRow[]),
      (r) => guests.every((g) => r.filter((x) => x.vm_id === g).length >= 3),
      90_000,
    );
    assert.ok(collectd!.exitCode === null, `collectd is still running: ${output}`);
    for (const g of guests) assert.ok(rows.filter((x) => x.vm_id === g).length >= 3, `3 rows for ${g} (got ${rows.length} in all); collectd said:\n${output}\nworker: ${JSON.stringify(worker!.stats)}`);

    // What libvirt itself says about the guests: vCPUs online and the current allocation.
    for (const g of guests) {
      const { stdout } = await run('virsh', ['-c', hosts!.uriA, 'domstats', g, '--vcpu', '--balloon'], { env: { ...process.env, LC_ALL: 'C' } });
      const stat = (name: string) => Number(new RegExp(`^\\s*${name.replace('.', '\\.')}=(\\d+)`, 'm').exec(stdout)?.[1]);
      const mine = rows.filter((x) => x.vm_id === g);
      const now = Date.now();
      for (const [i, r] of mine.entries()) {
        assert.equal(r.host_id, hostId);
        assert.equal(r.vcpus, stat('vcpu.current'));
        assert.equal(Number(r.mem_total_bytes), stat('balloon.current') * 1024);
        assert.ok(Number(r.mem_used_bytes) > 0 && Number(r.mem_used_bytes) <= Number(r.mem_total_bytes), `memory in use ${r.mem_used_bytes}`);
        assert.ok(r.cpu_used_cores >= 0 && r.cpu_used_cores <= r.vcpus * 1.05, `cpu ${r.cpu_used_cores}`);
        for (const f of ['disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps'] as const) assert.ok(r[f] >= 0 && Number.isFinite(r[f]), `${f} ${r[f]}`);
        assert.ok(now - r.ts.getTime() < 5 * 60_000 && r.ts.getTime() <= now + 1000, `ts ${r.ts.toISOString()} is recent`);
        // One row per read: consecutive rows one interval apart (collectd's own clock).
        if (i > 0) assert.ok(Math.abs(r.ts.getTime() - mine[i - 1]!.ts.getTime() - INTERVAL_S * 1000) < 500, `rows ${INTERVAL_S} s apart: ${mine.map((x) => x.ts.toISOString()).join(' ')}`);
      }
    }
    // Booting guests (QEMU's TCG) use CPU: the rate → cores conversion shows it.
    assert.ok(rows.some((r) => r.cpu_used_cores > 0.01), `some CPU use: ${rows.map((r) => r.cpu_used_cores.toFixed(3)).join(' ')}`);

    type HostRow = { ts: Date; host_id: string; cpu_used_cores: number; cpu_capacity_cores: number; mem_used_bytes: bigint | number; mem_total_bytes: bigint | number };
    const hostRows = await eventually(() => questdb.query<HostRow>(`select * from ${hostTable} where host_id = '${hostId}'`).catch(() => [] as HostRow[]), (r) => r.length >= 1, 30_000);
    assert.ok(hostRows.length >= 1, 'a host row');
    for (const h of hostRows) {
      assert.equal(h.cpu_capacity_cores, cpus().length);
      assert.ok(Math.abs(Number(h.mem_total_bytes) - totalmem()) < 0.05 * totalmem(), `host memory ${h.mem_total_bytes} vs ${totalmem()}`);
      assert.ok(h.cpu_used_cores >= 0 && h.cpu_used_cores <= h.cpu_capacity_cores);
    }

    // collectd's first reads are partial (counters need two reads for a rate; the virt plugin's
    // first pass may lack some value lists; write_kafka sends its first messages to any partition
    // until it has metadata, so pieces can arrive late): they go to the DLQ saying why. Nothing
    // else does: every dead-lettered read of a series precedes its first row.
    const codes = worker!.stats.byCode;
    for (const code of ['COLLECTD_BAD_JSON', 'COLLECTD_BAD_SHAPE', 'COLLECTD_EVICTED', 'SAMPLE_INVALID_FIELD']) assert.equal(codes[code] ?? 0, 0, `${code}: ${JSON.stringify(codes)}`);
    const dlq = await readTopic(bus, topics.deadLetter, (codes['COLLECTD_INCOMPLETE'] ?? 0) + (codes['COLLECTD_LATE'] ?? 0), 20_000);
    const reasons = dlq.map((m) => m.headers[DLQ_HEADERS.reason] ?? '');
    const firstRow = new Map<string, number>([...guests.map((g) => [`VM ${g}`, rows.find((r) => r.vm_id === g)!.ts.getTime()] as const), [`host ${hostId}`, Math.min(...hostRows.map((h) => h.ts.getTime()))]]);
    for (const reason of reasons) {
      const incomplete = /^incomplete (VM \S+|host \S+)(?: on \S+)? sample at (\S+) \(/.exec(reason);
      // A late value list: <host>/virt-<vm>/<type> or <host>/<plugin>/<type> at <time> arrived ...
      const late = /^([^/]+)\/([^/ ]+)\/\S+ at (\S+) arrived after/.exec(reason);
      assert.ok(incomplete || late, `an incomplete or late first read: ${reason}`);
      const series = incomplete ? incomplete[1]! : late![2]!.startsWith('virt-') ? `VM ${late![2]!.slice(5)}` : `host ${late![1]!}`;
      const at = Date.parse(incomplete ? incomplete[2]! : late![3]!);
      const first = firstRow.get(series);
      assert.ok(first !== undefined && at < first, `dead-lettered read before the first row of ${series}: ${reason}`);
    }
    for (const g of guests) assert.ok(reasons.some((r) => r.includes(`VM ${g} `) && /no rate yet/.test(r)), `the first read of ${g} is dead-lettered: ${reasons.join(' | ')}`);
    console.log(`collectd → QuestDB: ${rows.length} VM rows for ${guests.length} guests, ${hostRows.length} host rows; worker ${JSON.stringify(worker!.stats)}; DLQ: ${reasons.join(' | ')}`);
  });
});
