// The host agent against a real libvirtd host with running QEMU guests (stack/libvirt-hosts.ts)
// and the real Kafka of the local stack: the in-process HostAgent, then `novacron agent` as a child
// process. Samples are read back from Kafka and decoded; nothing is mocked.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT, topicSpecs, type Config, type MessageBus, freePort } from '../../core/index.ts';
import { AgentMetrics, HostAgent, SamplePublisher, VirshDomainReader, type StepReport } from '../../ingest/index.ts';
import { decodeSamples, validateSample, type HostSample, type VmSample } from '../../schemas/index.ts';
import { acquireRealHosts, type RealHosts } from '../../stack/index.ts';
import { busFor, isolatedConfig, readTopicUntil, topicsFor } from './harness.ts';

const MiB = 2 ** 20;
const acquired = await acquireRealHosts();
const skip = 'skip' in acquired ? acquired.skip : false;
const hosts = 'skip' in acquired ? undefined : (acquired as RealHosts);
const run = promisify(execFile);

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await hosts?.teardown();
});

/** A config and bus of this test only (unique topics), deleted afterwards. */
async function isolated(): Promise<{ config: Config; bus: MessageBus }> {
  const config = isolatedConfig();
  const bus = busFor(config);
  await bus.ensureTopics(topicSpecs(config, 2));
  cleanups.push(() => bus.deleteTopics(Object.values(topicsFor(config))));
  return { config, bus };
}

async function samples(bus: MessageBus, config: Config, hostCount: number, vmCount: number): Promise<{ keys: (string | null)[]; hosts: HostSample[]; vms: VmSample[] }> {
  // The agent sends one host tick per interval (its sample and its domains') on the VM topic.
  const count = (got: readonly { value: Buffer | null }[]) => {
    const all = got.flatMap((m) => decodeSamples(m.value));
    return { hosts: all.flatMap((s) => (s.kind === 'host' ? [s.sample] : [])), vms: all.flatMap((s) => (s.kind === 'vm' ? [s.sample] : [])) };
  };
  const messages = await readTopicUntil(bus, topicsFor(config).vmSamples, (got) => {
    const c = count(got);
    return c.hosts.length >= hostCount && c.vms.length >= vmCount;
  }, 20_000);
  const { hosts, vms } = count(messages);
  return {
    keys: messages.map((m) => m.key),
    hosts: hosts.sort((a, b) => a.ts - b.ts),
    vms: vms.sort((a, b) => a.ts - b.ts),
  };
}


/** What a host sample from this machine must look like. */
function assertPlausibleHost(s: HostSample, hostId: string): void {
  validateSample({ kind: 'host', sample: s }, s.ts);
  assert.equal(s.hostId, hostId);
  assert.equal(s.cpuCapacityCores, cpus().length);
  assert.ok(s.cpuUsedCores >= 0 && s.cpuUsedCores <= s.cpuCapacityCores, `cpu ${s.cpuUsedCores} of ${s.cpuCapacityCores}`);
  assert.equal(s.memTotalBytes, totalmem());
  assert.ok(s.memUsedBytes > 0 && s.memUsedBytes <= s.memTotalBytes);
  assert.ok(s.cpuStealPct >= 0 && s.cpuStealPct <= 100);
  for (const f of ['diskReadBps', 'diskWriteBps', 'netRxBps', 'netTxBps'] as const) assert.ok(Number.isFinite(s[f]) && s[f] >= 0, `${f} ${s[f]}`);
}

function assertPlausibleVm(s: VmSample, hostId: string, memoryMiB: number): void {
  validateSample({ kind: 'vm', sample: s }, s.ts);
  assert.equal(s.hostId, hostId);
  // The guests are defined with <vcpu current='1'>2</vcpu>: one online.
  assert.equal(s.vcpus, 1);
  assert.equal(s.memTotalBytes, memoryMiB * MiB);
  assert.ok(s.memUsedBytes > 0 && s.memUsedBytes <= s.memTotalBytes);
  assert.ok(s.cpuUsedCores >= 0 && s.cpuUsedCores <= s.vcpus);
  assert.ok(s.vcpuDelayPct >= 0 && s.vcpuDelayPct <= 100);
  for (const f of ['diskReadBps', 'diskWriteBps', 'netRxBps', 'netTxBps'] as const) assert.ok(Number.isFinite(s[f]) && s[f] >= 0, `${f} ${s[f]}`);
}


describe('the host agent on a real libvirtd host', { skip }, () => {
  let withNic = '';
  let bigger = '';
  before(async () => {
    withNic = await hosts!.bootGuest({ nic: true });
    bigger = await hosts!.bootGuest({ memoryMiB: 96 });
  });

  it('in process: a baseline, then per interval one host sample and one per running guest; guests that come and go', async () => {
    const { config, bus } = await isolated();
    const hostId = `agent-it-${randomBytes(3).toString('hex')}`;
    const producer = await bus.producer();
    cleanups.push(() => producer.close());
    const metrics = new AgentMetrics(false);
    const agent = new HostAgent({ hostId, publisher: new SamplePublisher(producer, topicsFor(config)), domains: new VirshDomainReader(hosts!.uriA), metrics });

    const reports: StepReport[] = [];
    const step = async () => {
      reports.push(await agent.step());
      await sleep(1000);
    };
    await step(); // baseline
    await step(); // interval 1: both guests
    const late = await hosts!.bootGuest();
    await step(); // interval 2: `late` seen for the first time, no sample yet
    await run('virsh', ['-c', hosts!.uriA, 'destroy', '--domain', bigger]);
    await step(); // interval 3: `late` has its first sample; `bigger` is gone
    reports.push(await agent.step()); // interval 4

    assert.equal(reports[0]!.baseline, true);
    assert.deepEqual(reports.map((r) => r.hostSamples), [0, 1, 1, 1, 1], 'no host sample for the baseline, one per interval after it');
    assert.deepEqual(reports.flatMap((r) => r.errors), []);
    const got = await samples(bus, config, 4, reports.reduce((n, r) => n + r.vmSamples, 0));
    assert.ok(got.keys.every((k) => k === hostId), 'every message keyed by the host id');
    assert.equal(got.hosts.length, 4);
    for (const h of got.hosts) assertPlausibleHost(h, hostId);
    const intervalTs = got.hosts.map((h) => h.ts);
    assert.deepEqual(intervalTs, reports.slice(1).map((r) => r.ts));

    const perInterval = (vm: string) => intervalTs.map((ts) => got.vms.filter((v) => v.vmId === vm && v.ts === ts).length);
    assert.deepEqual(perInterval(withNic), [1, 1, 1, 1]);
    assert.deepEqual(perInterval(bigger), [1, 1, 0, 0]);
    assert.deepEqual(perInterval(late), [0, 0, 1, 1]);
    for (const [vm, mem] of [[withNic, 64], [bigger, 96], [late, 64]] as const) {
      const mine = got.vms.filter((v) => v.vmId === vm);
      for (const v of mine) assertPlausibleVm(v, hostId, mem);
      // A running QEMU guest always burns some CPU: the rates are real, not placeholders.
      assert.ok(mine.reduce((sum, v) => sum + v.cpuUsedCores, 0) > 0, `${vm} used no CPU`);
    }

    const text = await metrics.text();
    assert.match(text, /novacron_agent_samples_total\{kind="host"\} 4/);
    assert.match(text, /novacron_agent_read_errors_total\{source="libvirt"\} 0/);
    assert.match(text, /novacron_agent_host_load1 \d/);
  });

  it('`novacron agent --once` as a child process: one host sample and the running guests\' samples, keyed by --host-id', async () => {
    const { config, bus } = await isolated();
    const hostId = `agent-cli-${randomBytes(3).toString('hex')}`;
    const spoolDir = await mkdtemp(join(tmpdir(), 'agent-spool-'));
    cleanups.push(() => rm(spoolDir, { recursive: true, force: true }));
    const env = { ...process.env, NOVACRON_TOPIC_PREFIX: config.kafka.topicPrefix, NOVACRON_AGENT_METRICS_PORT: '0', NOVACRON_SPOOL_DIR: spoolDir };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'agent', '--once', '--interval', '1', '--uri', hosts!.uriA, '--host-id', hostId], { cwd: PROJECT_ROOT, env, timeout: 120_000 });
    assert.match(stdout, /agent: 1 intervals, 1 host \+ \d+ VM samples \(\d+ domains\), read errors 0, publish errors 0/);
    const got = await samples(bus, config, 1, 2);
    assert.equal(got.hosts.length, 1);
    assertPlausibleHost(got.hosts[0]!, hostId);
    assert.ok(got.keys.every((k) => k === hostId));
    assert.equal(got.vms.filter((v) => v.vmId === withNic).length, 1);
    for (const v of got.vms.filter((v) => v.vmId === withNic)) assertPlausibleVm(v, hostId, 64);
    assert.ok(got.vms.every((v) => v.ts === got.hosts[0]!.ts));
  });

  it('`novacron agent` for a few intervals: serves /metrics, stops cleanly on SIGTERM', async () => {
    const { config, bus } = await isolated();
    const hostId = `agent-run-${randomBytes(3).toString('hex')}`;
    const spoolDir = await mkdtemp(join(tmpdir(), 'agent-spool-'));
    cleanups.push(() => rm(spoolDir, { recursive: true, force: true }));
    const port = await freePort();
    const env = { ...process.env, NOVACRON_TOPIC_PREFIX: config.kafka.topicPrefix, NOVACRON_AGENT_METRICS_PORT: String(port), NOVACRON_SPOOL_DIR: spoolDir, NOVACRON_AGENT_HOST_ID: hostId, NOVACRON_AGENT_INTERVAL_SECONDS: '1' };
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'agent', '--uri', hosts!.uriA], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => child.exitCode === null && child.kill('SIGKILL'));
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

    let body = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
      body = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      const m = /novacron_agent_samples_total\{kind="host"\} (\d+)/.exec(body);
      if (m && Number(m[1]) >= 3) break;
    }
    assert.match(body, /novacron_agent_samples_total\{kind="host"\} ([3-9]|\d\d)/, output);
    assert.match(body, /novacron_agent_host_load15 \d/);
    assert.match(body, /novacron_agent_last_read_duration_seconds\{source="libvirt"\} \d/);
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
    console.log(`agent RSS after ${/novacron_agent_intervals_total (\d+)/.exec(body)?.[1]} intervals: ${(rssKiB / 1024).toFixed(1)} MiB`);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.match(output, /agent: stopped after \d+ intervals/);
    const got = await samples(bus, config, 3, 3);
    for (const h of got.hosts) assertPlausibleHost(h, hostId);
    assert.ok(got.hosts.length >= 3);
  });

  it('a URI with no libvirtd behind it: exits with AGENT_LIBVIRT_UNREACHABLE naming the URI', async () => {
    const { config } = await isolated();
    const uri = `qemu+unix:///system?socket=${join(tmpdir(), `no-libvirtd-${randomBytes(3).toString('hex')}`)}`;
    const env = { ...process.env, NOVACRON_TOPIC_PREFIX: config.kafka.topicPrefix, NOVACRON_AGENT_METRICS_PORT: '0', NOVACRON_SPOOL_ENABLED: 'false' };
    const result = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'agent', '--once', '--uri', uri], { cwd: PROJECT_ROOT, env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(result.code, 75, 'retriable error exit code');
    assert.match(result.stderr, /AGENT_LIBVIRT_UNREACHABLE/);
    assert.ok(result.stderr.includes(uri), result.stderr);
  });
});
