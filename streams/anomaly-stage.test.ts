import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VmSample } from '../schemas/index.ts';
import { AnomalyStage, type AnomalyEvent, type SeriesDetector } from './anomaly-stage.ts';

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

  it('skips samples at or before a series last timestamp (re-delivery), and sorts a batch by time', () => {
    const fed = { n: 0 };
    const seen: number[] = [];
    const stage = new AnomalyStage(() => ({ update: (ts, v) => { fed.n++; seen.push(ts); return { score: 0, expected: v, explanation: '', alarm: false }; } }));
    stage.observe([sample(3000, 1), sample(1000, 1), sample(2000, 1)]);
    stage.observe([sample(2000, 1), sample(3000, 1)]);
    assert.equal(fed.n, 6);
    assert.deepEqual(seen.filter((_, i) => i % 2 === 0), [1000, 2000, 3000]);
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
