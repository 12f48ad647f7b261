import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode, NovaError, type BusProducer, type OutgoingMessage, type Topics } from '../../core/index.ts';
import { decodeSamples, validateSample, type HostSample, type VmSample } from '../../schemas/index.ts';
import { SamplePublisher } from '../publisher.ts';
import { parseDomStats, type DomainObservation, type DomainReader, type DomainsObservation } from './domstats.ts';
import { HostAgent } from './host-agent.ts';
import { AgentMetrics, serveMetrics } from './metrics.ts';
import type { HostObservation } from './procfs.ts';

const TOPICS: Topics = { hostSamples: 't.samples.host', vmSamples: 't.samples.vm', deadLetter: 't.dlq', anomalies: 't.anomalies' };

/** In-memory BusProducer (the port): records what was sent, or fails when told to. */
class MemoryProducer implements BusProducer {
  readonly sent: { topic: string; message: OutgoingMessage }[] = [];
  failNext = false;
  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('broker gone');
    }
    for (const message of messages) this.sent.push({ topic, message });
  }
  async close(): Promise<void> {}
  // The agent sends one host tick per interval (its sample and its domains') on the VM topic.
  private samples() {
    return this.sent.filter((s) => s.topic === TOPICS.vmSamples).flatMap((s) => decodeSamples(s.message.value));
  }
  hosts(): HostSample[] {
    return this.samples().flatMap((d) => (d.kind === 'host' ? [d.sample] : []));
  }
  vms(): VmSample[] {
    return this.samples().flatMap((d) => (d.kind === 'vm' ? [d.sample] : []));
  }
}

/** Host reads k = 0, 1, 2, …: one second apart, one core busy on a 4-CPU host. */
function hostRead(k: number): HostObservation {
  return {
    atMs: 1000 * k,
    cpu: { cpus: 4, total: { user: 100 * k, nice: 0, system: 0, idle: 300 * k, iowait: 0, irq: 0, softirq: 0, steal: 0 } },
    memTotalBytes: 8 * 2 ** 30,
    memAvailableBytes: 6 * 2 ** 30,
    load: { load1: 1 + k, load5: 0.5, load15: 0.25 },
    net: new Map([['eth0', { inBytes: 1000 * k, outBytes: 500 * k }]]),
    bridges: new Set(),
    disk: new Map([['vda', { inBytes: 4096 * k, outBytes: 0 }]]),
  };
}

function dom(name: string, cpuTimeNs: number): DomainObservation {
  return parseDomStats(`Domain: '${name}'\n  state.state=1\n  cpu.time=${cpuTimeNs}\n  balloon.current=65536\n  balloon.rss=40000\n  vcpu.current=2\n`)[0]!;
}

/** A DomainReader that plays a script: each read returns the next entry (an Error entry throws it). */
class ScriptedDomains implements DomainReader {
  private k = 0;
  constructor(private readonly script: (DomainObservation[] | Error)[], private readonly atMs = (k: number) => 1000 * k) {}
  async read(): Promise<DomainsObservation> {
    const k = this.k++;
    const entry = this.script[Math.min(k, this.script.length - 1)]!;
    if (entry instanceof Error) throw entry;
    return { atMs: this.atMs(k), domains: entry };
  }
}

function agentWith(script: (DomainObservation[] | Error)[], options: { metrics?: AgentMetrics; hostFails?: number[] } = {}) {
  const producer = new MemoryProducer();
  let k = 0;
  const agent = new HostAgent({
    hostId: 'host-7',
    publisher: new SamplePublisher(producer, TOPICS),
    domains: new ScriptedDomains(script),
    readHost: async () => {
      const i = k++;
      if (options.hostFails?.includes(i)) throw new NovaError('AGENT_PROCFS_UNREADABLE', 'gone');
      return hostRead(i);
    },
    metrics: options.metrics,
    now: () => 1_700_000_000_000 + k * 1000,
  });
  return { agent, producer };
}

describe('HostAgent.step', () => {
  it('the first step is a baseline; from the second, one host sample and one per VM, keyed by host id', async () => {
    const { agent, producer } = agentWith([[dom('a', 0), dom('b', 0)], [dom('a', 1e9), dom('b', 0.5e9)]]);
    const first = await agent.step();
    assert.equal(first.baseline, true);
    assert.equal(producer.sent.length, 0);
    assert.deepEqual(first.skipped, { 'no-baseline': 2 });
    const second = await agent.step();
    assert.deepEqual([second.hostSamples, second.vmSamples, second.errors.length], [1, 2, 0]);
    assert.ok(producer.sent.every((s) => s.message.key === 'host-7'));
    const [h] = producer.hosts();
    assert.equal(h!.cpuUsedCores, 1, 'a quarter of 4 CPUs');
    assert.equal(h!.netRxBps, 1000);
    assert.equal(h!.diskReadBps, 4096);
    assert.deepEqual(producer.vms().map((v) => [v.vmId, v.cpuUsedCores, v.vcpus]), [['a', 1, 2], ['b', 0.5, 2]]);
    for (const s of producer.hosts()) validateSample({ kind: 'host', sample: s }, s.ts);
    for (const s of producer.vms()) validateSample({ kind: 'vm', sample: s }, s.ts);
    assert.deepEqual(agent.totals, { intervals: 1, hostSamples: 1, vmSamples: 2, readErrors: 0, publishErrors: 0 });
  });

  it('domains that appear wait one interval for a baseline; ones that leave are dropped; a restarted one skips an interval', async () => {
    const { agent, producer } = agentWith([
      [dom('a', 0)],
      [dom('a', 1e9), dom('new', 5e9)],
      [dom('new', 6e9)], // a left
      [dom('new', 1e8), dom('a', 2e9)], // new restarted (cpu.time back to near 0); a is back, as new
      [dom('new', 2e8), dom('a', 3e9)],
    ]);
    const reports = [];
    for (let i = 0; i < 5; i++) reports.push(await agent.step());
    assert.deepEqual(reports.map((r) => r.vmSamples), [0, 1, 1, 0, 2]);
    assert.deepEqual(reports[3]!.skipped, { 'counter-reset': 1, 'no-baseline': 1 });
    assert.deepEqual(producer.vms().map((v) => v.vmId), ['a', 'new', 'new', 'a']);
    assert.ok(producer.vms().every((v) => v.cpuUsedCores >= 0));
  });

  it('a failed libvirt read is counted; the host sample still goes out; the next read measures from the last good one', async () => {
    const metrics = new AgentMetrics(false);
    // Domain reads at 0 s and 2 s succeed (the 1 s one fails): 2e9 ns over 2 s = 1 core.
    const { agent, producer } = agentWith([[dom('a', 0)], new Error('libvirtd restarting'), [dom('a', 2e9)]], { metrics });
    await agent.step();
    const failed = await agent.step();
    assert.deepEqual([failed.hostSamples, failed.vmSamples, failed.errors.map((e) => e.source)], [1, 0, ['libvirt']]);
    await agent.step();
    assert.deepEqual(producer.vms().map((v) => v.cpuUsedCores), [1]);
    assert.equal(agent.totals.readErrors, 1);
    const text = await metrics.text();
    assert.match(text, /novacron_agent_read_errors_total\{source="libvirt"\} 1/);
    assert.match(text, /novacron_agent_read_errors_total\{source="procfs"\} 0/);
    assert.match(text, /novacron_agent_samples_total\{kind="host"\} 2/);
    assert.match(text, /novacron_agent_samples_total\{kind="vm"\} 1/);
    assert.match(text, /novacron_agent_host_load1 3/);
    assert.match(text, /novacron_agent_last_read_duration_seconds\{source="libvirt"\} \d/);
  });

  it('a failed host read skips the host sample only; a failed send is counted, not thrown', async () => {
    const { agent, producer } = agentWith([[dom('a', 0)], [dom('a', 1e9)], [dom('a', 2e9)]], { hostFails: [1] });
    await agent.step();
    const r = await agent.step();
    assert.deepEqual([r.hostSamples, r.vmSamples, r.errors.map((e) => e.source)], [0, 1, ['procfs']]);
    producer.failNext = true;
    const p = await agent.step();
    assert.deepEqual([p.hostSamples, p.vmSamples, p.errors.map((e) => e.source)], [0, 0, ['kafka']]);
    assert.equal(agent.totals.publishErrors, 1);
  });
});

describe('HostAgent.run', () => {
  it('baseline, then maxIntervals intervals at the given pace', async () => {
    const { agent, producer } = agentWith([[dom('a', 0)], [dom('a', 1e9)], [dom('a', 2e9)]]);
    const seen: number[] = [];
    const started = Date.now();
    await agent.run({ intervalMs: 50, maxIntervals: 2, onInterval: (r) => seen.push(r.hostSamples) });
    assert.deepEqual(seen, [1, 1]);
    assert.ok(Date.now() - started >= 95, 'two intervals of 50 ms');
    assert.equal(producer.hosts().length, 2);
  });

  it('stops when the signal aborts, also in the middle of a long wait', async () => {
    const { agent } = agentWith([[dom('a', 0)]]);
    const abort = new AbortController();
    await agent.run({ intervalMs: 20, signal: abort.signal, onInterval: (_, a) => a.totals.intervals === 2 && abort.abort() });
    assert.equal(agent.totals.intervals, 2);

    const waiting = agentWith([[dom('a', 0)]]).agent;
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(), 100);
    await waiting.run({ intervalMs: 600_000, signal: stop.signal });
    assert.equal(waiting.totals.intervals, 0);
    assert.ok(Date.now() - started < 60_000, 'did not wait out the interval');
  });

  it('a baseline that cannot reach libvirt throws its error (a wrong URI stops the command)', async () => {
    const unreachable = new NovaError('AGENT_LIBVIRT_UNREACHABLE', 'cannot reach libvirt at qemu:///nope');
    const { agent } = agentWith([unreachable]);
    await assert.rejects(agent.run({ intervalMs: 10, maxIntervals: 1 }), (e) => hasCode(e, 'AGENT_LIBVIRT_UNREACHABLE'));
  });
});

describe('serveMetrics', () => {
  it('serves the registry on GET /metrics, 404 elsewhere, and closes', async () => {
    const metrics = new AgentMetrics(true);
    metrics.samples.inc({ kind: 'host' }, 3);
    const server = await serveMetrics(metrics, 0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.match(body, /novacron_agent_samples_total\{kind="host"\} 3/);
      assert.match(body, /novacron_agent_process_resident_memory_bytes \d+/);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/`)).status, 404);
      await assert.rejects(serveMetrics(metrics, server.port, '127.0.0.1'), (e) => hasCode(e, 'AGENT_METRICS_PORT'));
    } finally {
      await server.close();
    }
  });
});
