import type { VmSample } from '../schemas/index.ts';

/** What a per-series streaming detector answers for one sample (no look-ahead). */
export interface DetectorVerdict {
  /** Anomaly score in [0, 1]. */
  score: number;
  /** The value the detector expected, in the metric's unit. */
  expected: number;
  explanation: string;
  /** True when this sample raises an event (the detector applies its threshold and hold-back). */
  alarm: boolean;
}

/** The port the stage scores through: one instance per series, fed in time order. */
export interface SeriesDetector {
  update(ts: number, value: number): DetectorVerdict;
}

export type DetectorFactory = (metric: ScoredMetric) => SeriesDetector;

/** Metrics scored per VM, as fractions of the VM's capacity so one detector fits all sizes. */
export const SCORED_METRICS = {
  cpu: (s: VmSample) => s.cpuUsedCores / s.vcpus,
  mem: (s: VmSample) => s.memUsedBytes / s.memTotalBytes,
} as const;
export type ScoredMetric = keyof typeof SCORED_METRICS;

export interface AnomalyEvent {
  ts: number;
  hostId: string;
  vmId: string;
  metric: ScoredMetric;
  value: number;
  expected: number;
  score: number;
  explanation: string;
}

/**
 * Online anomaly scoring inside the streams worker. State is per VM and metric; samples at or
 * before a series' last seen timestamp are skipped, so a re-delivered batch neither disturbs
 * the state nor raises an event twice. Events wait in an outbox until `drain` hands them to a
 * sink that accepted them: a failed publish keeps them for the next batch instead of losing them.
 */
export class AnomalyStage {
  private readonly series = new Map<string, { detector: SeriesDetector; lastTs: number }>();
  private outbox: AnomalyEvent[] = [];
  scored = 0;

  constructor(private readonly factory: DetectorFactory) {}

  observe(samples: readonly VmSample[]): void {
    // Within a batch one VM's samples may come from several producers' sends: score in time order.
    const ordered = [...samples].sort((a, b) => a.ts - b.ts);
    for (const s of ordered) {
      for (const metric of Object.keys(SCORED_METRICS) as ScoredMetric[]) {
        const key = `${s.vmId}\u0000${metric}`;
        let state = this.series.get(key);
        if (!state) {
          state = { detector: this.factory(metric), lastTs: -Infinity };
          this.series.set(key, state);
        }
        if (s.ts <= state.lastTs) continue;
        state.lastTs = s.ts;
        const value = SCORED_METRICS[metric](s);
        const verdict = state.detector.update(s.ts, value);
        this.scored += 1;
        if (verdict.alarm) {
          this.outbox.push({ ts: s.ts, hostId: s.hostId, vmId: s.vmId, metric, value, expected: verdict.expected, score: verdict.score, explanation: verdict.explanation });
        }
      }
    }
  }

  /** Publishes the outbox; events are removed only once `publish` resolved. */
  async drain(publish: (events: readonly AnomalyEvent[]) => Promise<void>): Promise<number> {
    if (this.outbox.length === 0) return 0;
    const events = this.outbox;
    this.outbox = [];
    try {
      await publish(events);
    } catch (err) {
      this.outbox = events.concat(this.outbox);
      throw err;
    }
    return events.length;
  }

  get pending(): number {
    return this.outbox.length;
  }
}
