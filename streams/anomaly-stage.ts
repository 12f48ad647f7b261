import { NovaError } from '../core/index.ts';
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

/**
 * The port the stage scores through: one instance per series. The stage feeds each series in
 * arrival order (a batch sorted by time); the detector owns the policy for samples that repeat or
 * precede the newest one (the models' detector scores late samples without learning from them
 * and never alarms on them, and drops exact repeats), so a re-delivered batch raises nothing twice.
 */
export interface SeriesDetector {
  update(ts: number, value: number): DetectorVerdict;
  /** Bytes of state the detector holds, when it can tell. */
  readonly stateBytes?: number;
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

/** Bounds on the per-series state the stage keeps. */
export interface AnomalyStageOptions {
  /**
   * A series with no sample for this long, in sample time (behind the newest sample the stage
   * has seen), is forgotten: its VM left or stopped reporting. Default 6 h: longer than a
   * host reboot or an agent upgrade, short enough that a deleted VM's state goes the same day.
   */
  idleMs: number;
  /** At most this many series are kept; beyond it the least recently updated goes first (LRU). Default 250,000 (125k VMs × cpu, mem; ~1.5 GB at the ~6.1 KB a detector takes with its JS objects). */
  maxSeries: number;
}

export const ANOMALY_STAGE_DEFAULTS: Readonly<AnomalyStageOptions> = Object.freeze({ idleMs: 6 * 3_600_000, maxSeries: 250_000 });

interface SeriesState {
  detector: SeriesDetector;
  lastTs: number;
}

/**
 * Online anomaly scoring inside the streams worker. State is per VM and metric, created on a
 * series' first sample and dropped when it idles out or the LRU bound is reached (see
 * `AnomalyStageOptions`); a series that returns later learns again from scratch. Events wait in
 * an outbox until `drain` hands them to a sink that accepted them: a failed publish keeps them
 * for the next batch instead of losing them. Nothing a sample carries can stop the stage: values
 * that are not finite numbers (a VM reporting 0 capacity) are counted in `skipped`, and late or
 * repeated samples are the detector's to handle.
 */
export class AnomalyStage {
  // Map iteration order is insertion order; re-inserting on every update keeps it LRU order.
  private readonly series = new Map<string, SeriesState>();
  private readonly opts: AnomalyStageOptions;
  private outbox: AnomalyEvent[] = [];
  private newestTs = -Infinity;
  scored = 0;
  skipped = 0;
  evicted = 0;

  constructor(
    private readonly factory: DetectorFactory,
    options: Partial<AnomalyStageOptions> = {},
  ) {
    const o = { ...ANOMALY_STAGE_DEFAULTS, ...options };
    if (!(o.idleMs > 0)) throw new NovaError('STREAMS_INVALID_ARGUMENT', `anomaly stage idleMs must be > 0, got ${o.idleMs}`);
    if (!(Number.isInteger(o.maxSeries) && o.maxSeries >= 1)) throw new NovaError('STREAMS_INVALID_ARGUMENT', `anomaly stage maxSeries must be a positive integer, got ${o.maxSeries}`);
    this.opts = o;
  }

  /** Series currently held. */
  get seriesCount(): number {
    return this.series.size;
  }

  /** Bytes of detector state held, summed over the series whose detector reports it. */
  get stateBytes(): number {
    let bytes = 0;
    for (const s of this.series.values()) bytes += s.detector.stateBytes ?? 0;
    return bytes;
  }

  observe(samples: readonly VmSample[]): void {
    // Within a batch one VM's samples may come from several producers' sends: score in time order.
    const ordered = [...samples].sort((a, b) => a.ts - b.ts);
    for (const s of ordered) {
      if (s.ts > this.newestTs) this.newestTs = s.ts;
      for (const metric of Object.keys(SCORED_METRICS) as ScoredMetric[]) {
        const value = SCORED_METRICS[metric](s);
        if (!Number.isFinite(value) || !Number.isFinite(s.ts)) {
          this.skipped += 1;
          continue;
        }
        const key = `${s.vmId}\u0000${metric}`;
        let state = this.series.get(key);
        if (state) this.series.delete(key);
        else state = { detector: this.factory(metric), lastTs: -Infinity };
        this.series.set(key, state);
        state.lastTs = Math.max(state.lastTs, s.ts);
        const verdict = state.detector.update(s.ts, value);
        this.scored += 1;
        if (verdict.alarm) {
          this.outbox.push({ ts: s.ts, hostId: s.hostId, vmId: s.vmId, metric, value, expected: verdict.expected, score: verdict.score, explanation: verdict.explanation });
        }
      }
    }
    this.evict();
  }

  // The least recently updated series sit at the front of the map: drop from there while over
  // the bound or idle. O(evicted) per batch.
  private evict(): void {
    const idleBefore = this.newestTs - this.opts.idleMs;
    for (const [key, state] of this.series) {
      if (this.series.size <= this.opts.maxSeries && state.lastTs >= idleBefore) break;
      this.series.delete(key);
      this.evicted += 1;
    }
  }

  /** Forgets every series of a VM (e.g. when it is deleted); returns how many were dropped. */
  forgetVm(vmId: string): number {
    let n = 0;
    for (const metric of Object.keys(SCORED_METRICS)) if (this.series.delete(`${vmId}\u0000${metric}`)) n++;
    this.evicted += n;
    return n;
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
