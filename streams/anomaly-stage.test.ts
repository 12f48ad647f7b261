import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSeriesDetector } from '../models/index.ts';
import type { VmSample } from '../schemas/index.ts';
import { ANOMALY_STAGE_DEFAULTS, AnomalyStage, type AnomalyEvent, type SeriesDetector } from './anomaly-stage.ts';

const GIB = 1024 ** 3;
const sample = (ts: number, cpu: number, vmId = 'vm-1'): VmSample => ({
  ts, hostId: 'h1', vmId, cpuUsedCores: cpu, vcpus: 2, memUsedBytes: GIB, memTotalBytes: 4 * GIB,
  diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0,
});

/** Flags any value above 0.9 of capacity; counts how often it was fed. */
function thresholdDetector(fed: { n: number }): SeriesDetector {
  return {
    update: (_ts, value) => {
      fed.n += 1;
      return { score: value > 0.9 ? 1 : 0, expected: 0.5, explanation: `value ${value}`, alarm: value > 0.9 };
    },
  };
}

describe('AnomalyStage', () => {
  it('release(source) drops the VMs whose samples last came from that source, and only those; they learn again from scratch', () => {
    const built: string[] = [];
    const stage = new AnomalyStage((metric) => (built.push(metric), thresholdDetector({ n: 0 })));
    stage.observe([sample(1000, 1, 'a1'), sample(1000, 1, 'a2')], 1);
    stage.observe([sample(1000, 1, 'b1')], 2);
    stage.observe([sample(2000, 1, 'moved')], 1);
    stage.observe([sample(3000, 1, 'moved')], 2); // its host's partition changed: it is source 2's now
    assert.equal(stage.seriesCount, 8);
    assert.equal(stage.release(1), 4, 'a1 and a2, two metrics each');
    assert.equal(stage.seriesCount, 4);
    assert.equal(stage.release(1), 0, 'nothing left of source 1');
    assert.equal(stage.release(3), 0, 'an unknown source');
    built.length = 0;
    stage.observe([sample(4000, 1, 'b1'), sample(4000, 1, 'moved'), sample(4000, 1, 'a1')], 2);
    assert.equal(built.length, 2, 'only a1 is built again');
    assert.equal(stage.release(2), 6);
    assert.equal(stage.seriesCount, 0);
    stage.observe([sample(5000, 1, 'b1')], 2);
    assert.equal(stage.seriesCount, 2, 'the recency list still works after releasing everything');
  });

  it('scores CPU and memory as fractions of capacity and raises events when the detector alarms', async () => {
    const fed = { n: 0 };
    const stage = new AnomalyStage(() => thresholdDetector(fed));
    stage.observe([sample(1000, 1.0), sample(2000, 1.9)]);
    assert.equal(fed.n, 4, 'two samples × two metrics');
    const got: AnomalyEvent[] = [];
    assert.equal(await stage.drain(async (e) => void got.push(...e)), 1);
    assert.equal(got[0]!.metric, 'cpu');
    assert.equal(got[0]!.ts, 2000);
    assert.ok(Math.abs(got[0]!.value - 0.95) < 1e-12);
  });

  it('feeds every sample to the detector in time order within a batch, leaving late ones to its policy', () => {
    const seen: number[] = [];
    const stage = new AnomalyStage(() => ({ update: (ts, v) => { seen.push(ts); return { score: 0, expected: v, explanation: '', alarm: false }; } }));
    stage.observe([sample(3000, 1), sample(1000, 1), sample(2000, 1)]);
    stage.observe([sample(2000, 1), sample(3000, 1)]);
    assert.deepEqual(seen.filter((_, i) => i % 2 === 0), [1000, 2000, 3000, 2000, 3000]);
  });

  it('with the real detector a re-delivered or reordered batch raises no event twice and never throws', async () => {
    const stage = new AnomalyStage(() => createSeriesDetector({ probationSamples: 50, minChange: 0.05 }));
    const batch = Array.from({ length: 120 }, (_, k) => sample(k * 300_000, k === 100 ? 2 : 0.6 + 0.02 * Math.sin(k / 5)));
    stage.observe(batch);
    const first: AnomalyEvent[] = [];
    await stage.drain(async (e) => void first.push(...e));
    assert.ok(first.some((e) => e.ts === 100 * 300_000 && e.metric === 'cpu'), `the spike alarms; got ${JSON.stringify(first.map((e) => e.ts))}`);
    // The same batch again (a retried send), then the old part shuffled back in (a clock step).
    stage.observe(batch);
    stage.observe([...batch.slice(90, 110)].reverse());
    const again: AnomalyEvent[] = [];
    await stage.drain(async (e) => void again.push(...e));
    assert.deepEqual(again, []);
  });

  it('skips samples whose metric is not a finite number instead of stopping', () => {
    const stage = new AnomalyStage(() => createSeriesDetector({ probationSamples: 10 }));
    stage.observe([{ ...sample(1000, 1), memTotalBytes: 0, memUsedBytes: 0 }, { ...sample(2000, 1), vcpus: 0 }]);
    assert.equal(stage.skipped, 2);
    assert.equal(stage.scored, 2);
  });

  it('drops a series idle for idleMs of sample time, and frees its state', () => {
    const stage = new AnomalyStage(() => createSeriesDetector({ probationSamples: 10 }), { idleMs: 3_600_000 });
    for (let k = 0; k < 20; k++) stage.observe([sample(k * 300_000, 1, 'vm-a'), sample(k * 300_000, 1, 'vm-b')]);
    assert.equal(stage.seriesCount, 4);
    const both = stage.stateBytes;
    assert.ok(both > 0);
    // vm-a leaves; vm-b goes on for more than an hour.
    for (let k = 20; k < 34; k++) stage.observe([sample(k * 300_000, 1, 'vm-b')]);
    assert.equal(stage.seriesCount, 2);
    assert.equal(stage.evicted, 2);
    assert.ok(stage.stateBytes <= both / 2 + 1e-9, `state ${stage.stateBytes} of ${both}`);
    // A returning VM starts again from scratch.
    stage.observe([sample(34 * 300_000, 1, 'vm-a')]);
    assert.equal(stage.seriesCount, 4);
  });

  it('keeps at most maxSeries, dropping the least recently updated first', () => {
    const created: string[] = [];
    const stage = new AnomalyStage((metric) => {
      created.push(metric);
      return { update: (_ts, v) => ({ score: 0, expected: v, explanation: '', alarm: false }), stateBytes: 100 };
    }, { maxSeries: 4 });
    stage.observe([sample(1000, 1, 'vm-1'), sample(1000, 1, 'vm-2')]);
    stage.observe([sample(2000, 1, 'vm-1')]); // vm-1 is now the most recent
    stage.observe([sample(3000, 1, 'vm-3')]);
    assert.equal(stage.seriesCount, 4);
    assert.equal(stage.stateBytes, 400);
    assert.equal(stage.evicted, 2);
    // vm-2 was least recently updated: it went; vm-1 is still there (no new detector for it).
    const before = created.length;
    stage.observe([sample(4000, 1, 'vm-1')]);
    assert.equal(created.length, before);
    stage.observe([sample(5000, 1, 'vm-2')]);
    assert.equal(created.length, before + 2);
  });

  it('under a random update order, evicts exactly what a reference LRU evicts', () => {
    // Each VM's detectors are tagged with the VM's id, so which VMs are held can be read back.
    const live = new Set<string>();
    const stage = new AnomalyStage((metric) => ({ update: (_ts, v) => ({ score: 0, expected: v, explanation: '', alarm: false }), stateBytes: metric === 'cpu' ? 1 : 0 }), { maxSeries: 2 * 7 });
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const reference: string[] = []; // least recently updated first
    for (let step = 0; step < 2000; step++) {
      const batch = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => `vm-${Math.floor(rand() * 20)}`);
      stage.observe(batch.map((vm) => sample(1000 + step, 1, vm)));
      for (const vm of batch) {
        const at = reference.indexOf(vm);
        if (at >= 0) reference.splice(at, 1);
        reference.push(vm);
      }
      while (reference.length > 7) reference.shift();
      live.clear();
      for (const vm of reference) live.add(vm);
      assert.equal(stage.seriesCount, 2 * reference.length, `step ${step}`);
      assert.equal(stage.stateBytes, reference.length, `step ${step}`);
      // Forgetting a held VM drops 2 series, one not held 0: the held set is the reference's.
      if (step % 97 === 0) {
        for (let v = 0; v < 20; v++) {
          const id = `vm-${v}`;
          if (!live.has(id)) assert.equal(stage.forgetVm(id), 0, `step ${step}: ${id} should not be held`);
        }
        const gone = reference.splice(Math.floor(rand() * reference.length), 1)[0]!;
        assert.equal(stage.forgetVm(gone), 2, `step ${step}: ${gone} should be held`);
      }
    }
  });

  it('forgets a VM on request, and documents its defaults', () => {
    const stage = new AnomalyStage(() => createSeriesDetector({ probationSamples: 10 }));
    stage.observe([sample(1000, 1, 'vm-1'), sample(1000, 1, 'vm-2')]);
    assert.equal(stage.forgetVm('vm-1'), 2);
    assert.equal(stage.seriesCount, 2);
    assert.deepEqual(ANOMALY_STAGE_DEFAULTS, { idleMs: 6 * 3_600_000, maxSeries: 250_000 });
    assert.throws(() => new AnomalyStage(() => createSeriesDetector(), { maxSeries: 0 }), { code: 'STREAMS_INVALID_ARGUMENT' });
  });

  it('keeps events in the outbox when publishing fails, and publishes them with the next batch', async () => {
    const stage = new AnomalyStage(() => thresholdDetector({ n: 0 }));
    stage.observe([sample(1000, 2)]);
    await assert.rejects(stage.drain(async () => { throw new Error('kafka down'); }));
    assert.equal(stage.pending, 1);
    stage.observe([sample(2000, 2)]);
    const got: AnomalyEvent[] = [];
    await stage.drain(async (e) => void got.push(...e));
    assert.deepEqual(got.map((e) => e.ts), [1000, 2000]);
    assert.equal(stage.pending, 0);
  });
});
