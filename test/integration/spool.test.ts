// Producers that outlive the broker, against a PRIVATE single-node Kafka this file starts on its
// own ports and home dir (the shared stack is never touched): sends made while no broker exists
// spool to disk and arrive, in order per key, once it starts; a kill -9 of the broker mid-stream
// does not stop the producer, and the records drain after a restart; `simulate` as a child process
// against an unreachable broker keeps going on the spool, prints counts and exits 75 (or, spool
// off, fails with KAFKA_UNREACHABLE and no stack trace), and `simulate --resume` sends the
// spool once Kafka is back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { isAlive, PROJECT_ROOT, topicSpecs, type Config, type IncomingMessage, type OutgoingMessage } from '../../core/index.ts';
import { SpoolingProducer } from '../../ingest/index.ts';
import { decodeSamples } from '../../schemas/index.ts';
import { ensureJars } from '../../stack/jars.ts';
import { kafkaService } from '../../stack/kafka.ts';
import { bringDown, bringUp, serviceDir, type StackService } from '../../stack/service.ts';
import { javaBinary, requireJava } from '../../stack/tools.ts';
import { busFor, eventually, isolatedConfig, readTopic, testLogger, topicsFor } from './harness.ts';
import { freePortBase } from './fault-support.ts';

const log = testLogger();
const home = mkdtempSync(join(tmpdir(), 'novacron-spool-it-'));

// Two free neighbouring ports (broker, controller), below Linux's ephemeral range (32768+): a
// port picked from 30,000-38,000 was once taken by some client's outgoing connection between
// the check and the broker's start (Kafka exited during start-up in CI). 24,000 on is used by
// no other private server of the tests (fault tests: 19,092 and 29,000 on).
const port = await freePortBase(24_000, [0, 1]);
const env = {
  NOVACRON_KAFKA_PORT: String(port),
  KAFKA_BROKERS: `127.0.0.1:${port}`,
  NOVACRON_KAFKA_NODES: '1',
  NOVACRON_KAFKA_REPLICATION: '1',
  NOVACRON_KAFKA_MIN_INSYNC: '1',
  NOVACRON_KAFKA_PARTITIONS: '3',
  NOVACRON_HOME: home,
  NOVACRON_SPOOL_DIR: join(home, 'spool'),
};
const config: Config = isolatedConfig(env);
const simPrefix = `${config.kafka.topicPrefix}sim`;

// Prerequisites: Java 17+ and the Kafka jars (in the cache after `./novacron stack up`).
let skip: string | false = false;
let jarsDir = '';
try {
  await requireJava(javaBinary(config.java.kafkaHome), 17);
  jarsDir = (await ensureJars(config, log)).kafka;
} catch (err) {
  skip = `private Kafka unavailable: ${(err as Error).message}`;
}
if (skip && process.env.CI === 'true') throw new Error(`CI=true and ${skip}`);

const kafka: StackService | undefined = skip ? undefined : kafkaService(config, jarsDir, log);
const startBroker = async () => {
  const s = await bringUp(kafka!, home);
  assert.equal(s.started, true, 'the private broker was started by this test (nothing else listens on its port)');
};
const brokerPid = () => Number(readFileSync(serviceDir(home, 'kafka').pidFile, 'utf8').trim());
/** kill -9 of the broker's whole process group: no shutdown, no flush beyond what the OS has. */
async function killBroker(): Promise<void> {
  const pid = brokerPid();
  process.kill(-pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  assert.equal(isAlive(pid), false);
}

after(async () => {
  if (kafka) await bringDown(kafka, home).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
});

const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.seg'));

function spooled(name: string, cfg: Config = config): SpoolingProducer {
  const bus = busFor(cfg);
  return new SpoolingProducer({
    connect: async () => {
      await bus.ensureTopics(topicSpecs(cfg, 3));
      return bus.producer();
    },
    dir: join(cfg.spool.dir, name),
    maxBytes: 256 * 1024 * 1024,
    log,
    initialBackoffMs: 200,
    maxBackoffMs: 2000,
  });
}

/**
 * Every sent value arrived, and per key the values came in the order sent (first occurrences:
 * a segment resent after a crash may repeat, which the QuestDB sink dedups).
 */
function assertDelivered(got: IncomingMessage[], sent: OutgoingMessage[]): { duplicates: number } {
  const byKey = (msgs: { key: string | null; value: Buffer | null }[]) => {
    const m = new Map<string, string[]>();
    for (const x of msgs) m.set(x.key ?? '', [...(m.get(x.key ?? '') ?? []), x.value!.toString()]);
    return m;
  };
  const want = byKey(sent);
  const have = byKey(got);
  for (const [key, values] of want) {
    const seen = have.get(key) ?? [];
    const firsts = [...new Set(seen)];
    assert.deepEqual(firsts, values, `key ${key}: every value, first arrivals in send order`);
  }
  return { duplicates: got.length - sent.length };
}

describe('spooling producer against a private Kafka that comes and goes', { skip }, () => {
  const topic = topicsFor(config).vmSamples;
  const other = topicsFor(config).hostSamples;
  const keys = ['host-001', 'host-002', 'host-003', 'host-004', 'host-005'];

  it('simulate with no broker: keeps going on the spool, prints counts, exits 75 saying what is left; spool off: KAFKA_UNREACHABLE, no stack', async () => {
    const run = await simulate(['--hours', '1', '--hosts', '2', '--vms-per-host', '3', '--close-timeout', '1']);
    assert.equal(run.code, 75, run.stdout + run.stderr);
    assert.match(run.stdout, /spool: [\d,]+ spooled, 0 drained, 0 dropped/);
    assert.match(run.stdout, /samples are still in the spool .*simulate --resume/);
    const produced = /produced ([\d,]+) VM \+ ([\d,]+) host samples, ([\d,]+) malformed/.exec(run.stdout);
    assert.ok(produced, run.stdout);
    const total = produced.slice(1).reduce((a, n) => a + Number(n.replace(/,/g, '')), 0);
    assert.equal(total, 12 * (2 + 6), '12 five-minute steps of 2 hosts and 6 VMs');
    // The spool counts messages: one host tick (a host's sample and its VMs') per host and step.
    assert.match(run.stdout, new RegExp(`${12 * 2} spooled`));
    assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');

    const off = await simulate(['--hours', '1', '--hosts', '2', '--vms-per-host', '3'], { NOVACRON_SPOOL_ENABLED: 'false', NOVACRON_TOPIC_PREFIX: `${config.kafka.topicPrefix}off` });
    assert.equal(off.code, 75);
    const said = off.stderr.split('\n').filter((l) => l.startsWith('novacron:'));
    assert.equal(said.length, 1, off.stderr);
    assert.match(said[0]!, /^novacron: KAFKA_UNREACHABLE: .*stack up/);
    assert.doesNotMatch(said[0]!, /KafkaJS\w*Error/, 'no raw kafkajs error name');
    assert.doesNotMatch(off.stderr, /^\s+at /m, 'no stack trace');
  });

  it('sends spooled while no broker exists arrive after it starts: all of them, in order per key, and the spool dir empties', async () => {
    const producer = spooled('first');
    const sent: OutgoingMessage[] = [];
    for (let i = 0; i < 60; i++) {
      const batch = keys.map((k) => ({ key: k, value: Buffer.from(`${k}#${i}`) }));
      await producer.send(i % 3 === 0 ? other : topic, batch);
      sent.push(...batch);
    }
    const s = producer.stats;
    assert.equal(s.spooled, 300);
    assert.equal(s.pending, 300);
    assert.equal(s.state, 'spooling');
    assert.ok(segments(producer.dir).length > 0);

    await startBroker();
    const drained = await eventually(async () => producer.stats, (x) => x.pending === 0 && x.state === 'direct', 120_000);
    assert.equal(drained.pending, 0);
    assert.equal(drained.drained, 300);
    assert.deepEqual(segments(producer.dir), []);
    const bus = busFor(config);
    const onTopic = sent.filter((_, j) => Math.floor(j / keys.length) % 3 !== 0);
    const onOther = sent.filter((_, j) => Math.floor(j / keys.length) % 3 === 0);
    assertDelivered(await readTopic(bus, topic, onTopic.length, 60_000), onTopic);
    assertDelivered(await readTopic(bus, other, onOther.length, 60_000), onOther);
    assert.deepEqual(await producer.closeWithin(5000), { left: 0, dir: producer.dir });
  });

  it('simulate --resume sends what the broker-less run left in its spool, continues after its last step, then follows the clock', async () => {
    const run = await simulate(['--hours', '1', '--hosts', '2', '--vms-per-host', '3', '--resume', '--follow-steps', '2', '--follow-interval', '2']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /samples left in the spool by an earlier run are sent first/);
    assert.match(run.stdout, /resuming after step 11/);
    assert.equal(run.stdout.match(/live step at/g)?.length, 2, run.stdout);
    const cfg = isolatedConfig({ ...env, NOVACRON_TOPIC_PREFIX: simPrefix });
    const spoolDir = join(cfg.spool.dir, `simulate-${simPrefix}`);
    assert.deepEqual(segments(spoolDir), []);
    const progress = JSON.parse(readFileSync(join(spoolDir, 'progress.json'), 'utf8')) as { lastStep: number; lastTs: number };
    assert.ok(progress.lastStep >= 13, `the live steps are recorded too (last step ${progress.lastStep})`);
    // The first run's 12 steps reached Kafka through the spool, then the resumed and live ones.
    // One host tick per host and step, on the VM topic; its host sample stands for the step.
    const got = await readTopic(busFor(cfg), topicsFor(cfg).vmSamples, 2 * (progress.lastStep + 1), 60_000);
    const samples = got.flatMap((m) => decodeSamples(m.value!).flatMap((s) => (s.kind === 'host' ? [{ sample: s.sample, sentAt: m.timestamp }] : [])));
    const distinct = new Set(samples.map(({ sample: s }) => `${s.hostId}@${s.ts}`));
    assert.equal(distinct.size, 2 * (progress.lastStep + 1), 'two hosts, every step from 0 to the last recorded one');
    // The two live steps are the newest stamps: the last one recorded, on the 2 s grid, at least 2 s apart.
    const stamps = [...new Set(samples.map(({ sample }) => sample.ts))].sort((a, b) => a - b);
    const [a, b] = stamps.slice(-2) as [number, number];
    assert.equal(b, progress.lastTs);
    assert.ok(b - a >= 2000 && (b - a) % 2000 === 0, `live stamps ${a}, ${b}`);
    for (const { sample, sentAt } of samples) {
      assert.equal(sample.ts % 2000, 0, 'on the 2 s live grid (the 5 min history grid is on it too)');
      assert.ok(sample.ts <= sentAt, `sample stamped ${new Date(sample.ts).toISOString()} sent at ${new Date(sentAt).toISOString()}: stamped in the future`);
    }
  });

  it('kill -9 of the broker mid-stream: sends keep resolving (to the spool), and everything drains after a restart', async () => {
    const topic = topicsFor(config).deadLetter; // a topic of its own: the earlier test's values are not in the way
    const producer = spooled('second');
    const sent: OutgoingMessage[] = [];
    let i = 0;
    const sendOne = async () => {
      const batch = keys.map((k) => ({ key: k, value: Buffer.from(`${k}#${i}`) }));
      i++;
      await producer.send(topic, batch);
      sent.push(...batch);
    };
    for (let n = 0; n < 20; n++) await sendOne();
    assert.equal(producer.stats.spooled, 0, 'broker up: sends go direct');
    await killBroker();
    // The first send after the kill waits out kafkajs's retries, then spools; the rest go straight to disk.
    const t0 = Date.now();
    for (let n = 0; n < 40; n++) await sendOne();
    const tookMs = Date.now() - t0;
    const s = producer.stats;
    assert.ok(s.spooled > 0 && s.pending > 0, JSON.stringify(s));
    assert.notEqual(s.state, 'direct');
    console.log(`40 sends after kill -9: ${tookMs} ms (the first waits out kafkajs's retries), ${s.spooled} records spooled`);

    await startBroker();
    // Keep sending while it drains: new sends queue behind the spool.
    for (let n = 0; n < 20; n++) await sendOne();
    const drained = await eventually(async () => producer.stats, (x) => x.pending === 0 && x.state === 'direct', 120_000);
    assert.equal(drained.pending, 0);
    assert.deepEqual(segments(producer.dir), []);
    const got = await readTopic(busFor(config), topic, sent.length, 60_000);
    const { duplicates } = assertDelivered(got, sent);
    console.log(`after restart: ${got.length} messages read for ${sent.length} sent (${duplicates} duplicates)`);
    assert.deepEqual(await producer.closeWithin(5000), { left: 0, dir: producer.dir });
  });
});

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env, NOVACRON_TOPIC_PREFIX: simPrefix, ...extra };
  delete e.NOVACRON_LOG_LEVEL; // the CLI's own default (warnings only), as a user would run it
  return e;
}

/** `./novacron simulate` as a child process, with this file's private broker and spool. */
function simulate(args: string[], extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'cli', 'main.ts'), 'simulate', ...args], {
      cwd: PROJECT_ROOT,
      env: childEnv(extra),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
