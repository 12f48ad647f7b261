import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BusProducer, OutgoingMessage, Topics } from '../core/index.ts';
import { decodeSamples } from '../schemas/index.ts';
import { resumeWindow, runFleet, SamplePublisher, SyntheticFleet, type StepsDone } from './index.ts';
import type { FleetSource } from './fleet.ts';

const TOPICS: Topics = { hostSamples: 't.samples.host', vmSamples: 't.samples.vm', deadLetter: 't.dlq', anomalies: 't.anomalies' };
const FLEET = { hosts: 2, vmsPerHost: 2, seed: 9, stepMs: 300_000 } as const;

/** Records each send with the wall-clock time it was made. */
class ClockedProducer implements BusProducer {
  readonly sends: { at: number; topic: string; messages: OutgoingMessage[] }[] = [];
  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length > 0) this.sends.push({ at: Date.now(), topic, messages });
  }
  async close(): Promise<void> {}
  hostTs(): { at: number; ts: number }[] {
    // Every send is one step's host ticks (paced runs flush per step).
    return this.sends.map((s) => ({ at: s.at, ts: decodeSamples(s.messages[0]!.value)[0]!.sample.ts }));
  }
}

/** A source that records the step index it was asked for. */
function recording(): { source: FleetSource; steps: number[] } {
  const fleet = new SyntheticFleet(FLEET);
  const steps: number[] = [];
  return { steps, source: { hosts: fleet.hosts, vms: fleet.vms, stepMs: fleet.stepMs, steps: Infinity, tick: (k, ts) => (steps.push(k), fleet.tick(k, ts)) } };
}

describe('runFleet live mode (the real clock)', () => {
  test('each live step is stamped on the interval grid, never ahead of the clock, one interval apart, without drift', async () => {
    const producer = new ClockedProducer();
    const intervalMs = 200;
    const afterTs = Math.floor(Date.now() / intervalMs) * intervalMs;
    await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS), { startTs: 0, steps: 6, paceMs: 0, malformedEvery: 0, live: { intervalMs, afterTs } });
    const seen = producer.hostTs();
    assert.equal(seen.length, 6);
    for (const [i, { at, ts }] of seen.entries()) {
      assert.equal(ts % intervalMs, 0, 'on the grid');
      assert.ok(ts <= at, `step ${i} stamped ${ts}, sent at ${at}: in the future`);
      assert.ok(ts > afterTs);
      if (i > 0) assert.equal(ts - seen[i - 1]!.ts, intervalMs, 'one interval apart');
    }
    // Paced by the clock: the last step is 6 intervals after afterTs, not 6 × (interval + work).
    assert.equal(seen.at(-1)!.ts, afterTs + 6 * intervalMs);
  });

  test('a late step skips ahead to the latest grid point instead of producing stale timestamps', async () => {
    const producer = new ClockedProducer();
    let fake = 10_000_000;
    // The clock jumps 5 intervals between steps (a stalled machine).
    const now = () => (fake += 500);
    await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS), { startTs: 0, steps: 3, paceMs: 0, malformedEvery: 0, live: { intervalMs: 100, afterTs: 10_000_000, now } });
    const ts = producer.hostTs().map((s) => s.ts);
    assert.equal(ts.length, 3);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! - ts[i - 1]! > 100, `skipped ahead: ${ts.join(', ')}`);
  });

  test('an abort while waiting for the next grid point ends the run promptly', async () => {
    const producer = new ClockedProducer();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS), { startTs: 0, steps: 5, paceMs: 0, malformedEvery: 0, live: { intervalMs: 60_000, afterTs: Date.now() }, signal: ac.signal });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(producer.sends.length, 0);
  });
});

describe('runFleet checkpoints and resume', () => {
  test('onStepsDone reports whole steps after a flush, ending with the last step', async () => {
    const producer = new ClockedProducer();
    const done: StepsDone[] = [];
    const sentAtReport: number[] = [];
    const start = Date.UTC(2024, 0, 1);
    await runFleet(new SyntheticFleet(FLEET), new SamplePublisher(producer, TOPICS), {
      startTs: start, steps: 30, paceMs: 0, malformedEvery: 0, checkpointEveryMs: 0,
      onStepsDone: (d) => {
        done.push(d);
        // One host tick message per host and step.
        sentAtReport.push(producer.sends.filter((s) => s.topic === TOPICS.vmSamples).reduce((a, s) => a + s.messages.length, 0));
      },
    });
    assert.deepEqual(done.at(-1), { step: 29, ts: start + 29 * FLEET.stepMs });
    for (const [i, d] of done.entries()) {
      // Everything of steps 0..d.step is with the producer when it is reported.
      assert.ok(sentAtReport[i]! >= (d.step + 1) * FLEET.hosts, `report ${i}: ${sentAtReport[i]} host samples sent for step ${d.step}`);
      if (i > 0) assert.ok(d.step > done[i - 1]!.step);
    }
  });

  test('firstStep continues the source numbering; a finite trace is replayed once in history mode', async () => {
    const { source, steps } = recording();
    await runFleet(source, new SamplePublisher(new ClockedProducer(), TOPICS), { startTs: 0, steps: 4, firstStep: 17, paceMs: 0, malformedEvery: 0 });
    assert.deepEqual(steps, [17, 18, 19, 20]);
    const finite = { ...source, steps: 20, tick: source.tick };
    steps.length = 0;
    await runFleet(finite, new SamplePublisher(new ClockedProducer(), TOPICS), { startTs: 0, steps: 10, firstStep: 17, paceMs: 0, malformedEvery: 0 });
    assert.deepEqual(steps, [17, 18, 19]);
  });

  test('resumeWindow: from the grid point after the recorded step up to now, numbering continued', () => {
    const stepMs = 300_000;
    const lastTs = Date.UTC(2024, 0, 1, 10, 0);
    const p = { version: 1 as const, fleet: 'x', stepMs, lastStep: 41, lastTs, updatedAt: '' };
    assert.deepEqual(resumeWindow(p, lastTs + 3 * stepMs + 1000), { firstStep: 42, startTs: lastTs + stepMs, steps: 3 });
    assert.deepEqual(resumeWindow(p, lastTs + 1000), { firstStep: 42, startTs: lastTs + stepMs, steps: 0 });
    // A live step between grid points (a short --follow-interval): the next history point is after it.
    assert.deepEqual(resumeWindow({ ...p, lastTs: lastTs + 10_000 }, lastTs + stepMs), { firstStep: 42, startTs: lastTs + stepMs, steps: 1 });
  });

  test('live mode loops over a finite trace instead of stopping at its end', async () => {
    const { source, steps } = recording();
    const finite = { ...source, steps: 3, tick: source.tick };
    await runFleet(finite, new SamplePublisher(new ClockedProducer(), TOPICS), { startTs: 0, steps: 4, firstStep: 2, paceMs: 0, malformedEvery: 0, live: { intervalMs: 20, afterTs: Date.now() } });
    assert.deepEqual(steps, [2, 0, 1, 2]);
  });
});
