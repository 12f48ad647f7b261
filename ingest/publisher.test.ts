import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { BusProducer, OutgoingMessage, Topics } from '../core/index.ts';
import { decodeMessage, decodeSamples, SampleError, validateSample, type HostSample, type VmSample } from '../schemas/index.ts';
import { SamplePublisher, SyntheticFleet, runFleet, type FleetTick, type RunOptions } from './index.ts';

const TOPICS: Topics = { hostSamples: 't.samples.host', vmSamples: 't.samples.vm', deadLetter: 't.dlq', anomalies: 't.anomalies' };
const START = Date.UTC(2024, 0, 1);
const FLEET = { hosts: 3, vmsPerHost: 4, seed: 5, stepMs: 300_000 } as const;

/** In-memory BusProducer: records every send (the port is ours, the batching under test is too). */
class MemoryProducer implements BusProducer {
  readonly sends: { topic: string; messages: OutgoingMessage[] }[] = [];
  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.sends.push({ topic, messages: [...messages] });
  }
  async close(): Promise<void> {}
  on(topic: string): OutgoingMessage[] {
    return this.sends.filter((s) => s.topic === topic).flatMap((s) => s.messages);
  }
  /** Every sample sent, from host ticks, in send order. */
  samples(): { hosts: HostSample[]; vms: VmSample[] } {
    const out = { hosts: [] as HostSample[], vms: [] as VmSample[] };
    for (const m of this.on(TOPICS.vmSamples)) {
      for (const d of decodeSamples(m.value)) d.kind === 'host' ? out.hosts.push(d.sample) : out.vms.push(d.sample);
    }
    return out;
  }
}

const run = (opts: Partial<RunOptions> & { steps: number }) => ({ startTs: START, paceMs: 0, malformedEvery: 0, ...opts });

/** The ticks runFleet will see, from an identically seeded fleet. */
function expectedTicks(steps: number): FleetTick[] {
  const f = new SyntheticFleet(FLEET);
  return Array.from({ length: steps }, (_, k) => f.tick(k, START + k * f.stepMs));
}

const hostKey = (s: { ts: number; hostId: string }) => `${s.hostId}@${s.ts}`;
const vmKey = (s: { ts: number; vmId: string }) => `${s.vmId}@${s.ts}`;

describe('SamplePublisher + runFleet', () => {
  test('every sample is sent exactly once, one host tick message per host and step, keyed by host id', async () => {
    const producer = new MemoryProducer();
    const publisher = new SamplePublisher(producer, TOPICS, 2048);
    const stats = await runFleet(new SyntheticFleet(FLEET), publisher, run({ steps: 10 }));
    const expected = expectedTicks(10);

    assert.deepEqual(stats, { hostSamples: 30, vmSamples: 120, malformed: 0 });
    assert.deepEqual(new Set(producer.sends.map((s) => s.topic)), new Set([TOPICS.vmSamples]));
    const messages = producer.on(TOPICS.vmSamples);
    assert.equal(messages.length, 30, 'one message per host and step');
    for (const m of messages) {
      const d = decodeMessage(m.value);
      assert.equal(d.kind, 'tick');
      if (d.kind !== 'tick') continue;
      assert.equal(m.key, d.tick.host?.hostId);
      assert.equal(d.tick.vms.length, FLEET.vmsPerHost);
      for (const v of d.tick.vms) assert.equal(v.hostId, m.key, 'a tick holds its own host\'s VMs only');
    }
    const { hosts: sentHosts, vms: sentVms } = producer.samples();
    // Exactly once: no duplicates, nothing missing, and the values are the ones the fleet produced.
    assert.deepEqual(sentHosts.map(hostKey).sort(), expected.flatMap((t) => t.hosts.map(hostKey)).sort());
    assert.deepEqual(sentVms.map(vmKey).sort(), expected.flatMap((t) => t.vms.map(vmKey)).sort());
    const byKey = new Map(expected.flatMap((t) => t.vms).map((v) => [vmKey(v), v]));
    for (const v of sentVms) assert.deepEqual({ ...v }, byKey.get(vmKey(v)));
    // One host's samples stay in time order (they share a key, hence a partition).
    for (const h of ['host-001', 'host-002']) {
      const ts = sentVms.filter((v) => v.hostId === h).map((v) => v.ts);
      assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
    }
  });

  test('VMs whose host sample is missing still go, as a tick without host, keyed by their host', async () => {
    const producer = new MemoryProducer();
    const publisher = new SamplePublisher(producer, TOPICS);
    const [tick] = expectedTicks(1);
    await publisher.addTick({ ts: tick!.ts, hosts: tick!.hosts.slice(1), vms: tick!.vms });
    await publisher.flush();
    const messages = producer.on(TOPICS.vmSamples);
    assert.equal(messages.length, FLEET.hosts);
    const orphan = messages.find((m) => m.key === tick!.hosts[0]!.hostId)!;
    const d = decodeMessage(orphan.value);
    assert.ok(d.kind === 'tick' && d.tick.host === null && d.tick.vms.length === FLEET.vmsPerHost);
    assert.equal(producer.samples().vms.length, tick!.vms.length);
  });

  // Counts only key + value bytes: a broker's record batch is strictly larger than that.
  // 600: just above one tick of this fleet (a host and 4 VMs, ~480 B).
  for (const maxRequestBytes of [65_536, 4096, 1000, 600]) {
    test(`no single send carries more than maxRequestBytes (${maxRequestBytes}) of keys and values`, async () => {
      const producer = new MemoryProducer();
      await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS, maxRequestBytes), run({ steps: 20 }));
      assert.equal(producer.on(TOPICS.vmSamples).length, 60);
      assert.equal(producer.samples().vms.length, 240);
      for (const [i, s] of producer.sends.entries()) {
        const bytes = s.messages.reduce((a, m) => a + m.value.length + Buffer.byteLength(m.key ?? ''), 0);
        assert.ok(bytes <= maxRequestBytes, `send #${i} to ${s.topic} has ${s.messages.length} messages, ${bytes} bytes > ${maxRequestBytes}`);
      }
    });
  }

  test('a tick larger than maxRequestBytes still goes, alone in its send', async () => {
    const producer = new MemoryProducer();
    await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS, 300), run({ steps: 5 }));
    assert.equal(producer.samples().vms.length, 5 * FLEET.hosts * FLEET.vmsPerHost);
    for (const s of producer.sends) assert.equal(s.messages.length, 1);
  });

  test('a small maxRequestBytes splits the stream into several sends; a large one into one', async () => {
    const small = new MemoryProducer();
    await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(small, TOPICS, 4096), run({ steps: 20 }));
    assert.ok(small.sends.filter((s) => s.messages.length > 0).length > 4);
    const large = new MemoryProducer();
    await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(large, TOPICS), run({ steps: 20 }));
    assert.deepEqual(large.sends.filter((s) => s.messages.length > 0).map((s) => [s.topic, s.messages.length]), [[TOPICS.vmSamples, 60]]);
  });

  test('malformedEvery N replaces every Nth VM sample with a rejected message, and the stats add up', async () => {
    const producer = new MemoryProducer();
    const publisher = new SamplePublisher(producer, TOPICS);
    const N = 7;
    const steps = 6;
    const stats = await runFleet(new SyntheticFleet(FLEET), publisher, run({ steps, malformedEvery: N }));
    const expectedVms = expectedTicks(steps).flatMap((t) => t.vms); // 72, in runFleet's counting order
    const replaced = expectedVms.filter((_, i) => (i + 1) % N === 0);

    assert.equal(replaced.length, 10);
    assert.deepEqual(stats, { hostSamples: steps * FLEET.hosts, vmSamples: expectedVms.length - replaced.length, malformed: replaced.length });
    assert.deepEqual(stats, publisher.stats);

    const messages = producer.on(TOPICS.vmSamples);
    assert.equal(messages.length, steps * FLEET.hosts + replaced.length, 'one tick per host and step, plus one message per replaced VM');
    const good: string[] = [];
    const badKeys: (string | null)[] = [];
    let hosts = 0;
    for (const m of messages) {
      try {
        const samples = decodeSamples(m.value);
        for (const d of samples) {
          validateSample(d, START + steps * FLEET.stepMs);
          if (d.kind === 'vm') good.push(vmKey(d.sample));
          else hosts++;
        }
      } catch (err) {
        assert.ok(err instanceof SampleError);
        badKeys.push(m.key);
      }
    }
    assert.deepEqual(good.sort(), expectedVms.filter((_, i) => (i + 1) % N !== 0).map(vmKey).sort());
    assert.deepEqual(badKeys.sort(), replaced.map((v) => v.hostId).sort(), 'malformed messages keep the replaced sample\'s host key');
    assert.equal(hosts, steps * FLEET.hosts, 'host samples are never replaced');
  });

  test('paceMs 0 sends everything without waiting', async () => {
    const producer = new MemoryProducer();
    const progress: number[] = [];
    const t0 = Date.now();
    const stats = await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS), run({ steps: 50, onProgress: (k) => progress.push(k) }));
    assert.ok(Date.now() - t0 < 5_000);
    assert.deepEqual(stats, { hostSamples: 150, vmSamples: 600, malformed: 0 });
    assert.equal(producer.samples().hosts.length, 150);
    assert.equal(producer.samples().vms.length, 600);
    assert.deepEqual(progress, Array.from({ length: 50 }, (_, i) => i + 1));
  });

  test('paceMs > 0 flushes every tick as it is produced', async () => {
    const producer = new MemoryProducer();
    await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS), run({ steps: 3, paceMs: 5 }));
    const sends = producer.sends.filter((s) => s.messages.length > 0);
    assert.equal(sends.length, 3);
    for (const [k, s] of sends.entries()) {
      assert.deepEqual(new Set(s.messages.flatMap((m) => decodeSamples(m.value).map((d) => d.sample.ts))), new Set([START + k * FLEET.stepMs]));
    }
  });

  test('runs no more steps than the source has', async () => {
    const fleet = new SyntheticFleet(FLEET);
    const finite = { hosts: fleet.hosts, vms: fleet.vms, stepMs: fleet.stepMs, steps: 2, tick: fleet.tick.bind(fleet) };
    const stats = await runFleet(finite, new SamplePublisher(new MemoryProducer(), TOPICS), run({ steps: 10 }));
    assert.equal(stats.hostSamples, 2 * FLEET.hosts);
  });

  test('an AbortSignal stops the run early and what was produced is still flushed', async () => {
    const producer = new MemoryProducer();
    const ac = new AbortController();
    const stats = await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS), run({
      steps: 1000, signal: ac.signal, onProgress: (k) => { if (k === 3) ac.abort(); },
    }));
    assert.deepEqual(stats, { hostSamples: 9, vmSamples: 36, malformed: 0 });
    assert.equal(producer.samples().hosts.length, 9);
    assert.equal(producer.samples().vms.length, 36);
  });

  test('an abort during the pacing sleep ends the run promptly', async () => {
    const producer = new MemoryProducer();
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 50);
    const stats = await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS), run({ steps: 100, paceMs: 60_000, signal: ac.signal }));
    assert.ok(Date.now() - t0 < 5_000, 'did not wait out the 60 s pace');
    assert.equal(stats.hostSamples, FLEET.hosts);
    assert.equal(producer.samples().hosts.length, FLEET.hosts);
  });
});
