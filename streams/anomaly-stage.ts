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

/** One VM's detectors, one slot per scored metric (created on the metric's first usable sample), and its place in the LRU list. */
interface VmState {
  readonly vmId: string;
  detectors: (SeriesDetector | undefined)[];
  lastTs: number;
  /** Where its samples last came from (the caller's number for a topic partition): see `release`. */
  source: number;
  /** Neighbours in the recency list: `prev` was updated less recently, `next` more. */
  prev: VmState | undefined;
  next: VmState | undefined;
}

const METRICS = Object.keys(SCORED_METRICS) as ScoredMetric[];
const READ_METRIC = METRICS.map((m) => SCORED_METRICS[m]);

function sortedByTs(samples: readonly VmSample[]): boolean {
  for (let i = 1; i < samples.length; i++) if (samples[i]!.ts < samples[i - 1]!.ts) return false;
  return true;
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
  // One entry per VM, keyed by its id (no per-metric key strings: at 100k VMs the worker's
  // profile had this map's bookkeeping and its garbage as the stage's largest cost). Recency
  // is a doubly linked list through the states (oldest at `head`): moving a VM to the tail on
  // each update is a few pointer writes, where re-inserting it into the Map (delete + set, the
  // former way to keep insertion order = LRU order) was ~10 % of the worker's CPU.
  private readonly vms = new Map<string, VmState>();
  private head: VmState | undefined;
  private tail: VmState | undefined;
  private readonly opts: AnomalyStageOptions;
  private outbox: AnomalyEvent[] = [];
  private newestTs = -Infinity;
  private series = 0;
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

  /** Series (VM × metric) currently held. */
  get seriesCount(): number {
    return this.series;
  }

  /** Bytes of detector state held, summed over the series whose detector reports it. */
  get stateBytes(): number {
    let bytes = 0;
    for (const vm of this.vms.values()) for (const d of vm.detectors) bytes += d?.stateBytes ?? 0;
    return bytes;
  }

  /**
   * Scores `samples`. `source` names where they came from (the worker numbers its topic
   * partitions), so that the state of VMs whose partition went to another worker can be released.
   */
  observe(samples: readonly VmSample[], source = 0): void {
    // Within a batch one VM's samples may come from several producers' sends: score in time order.
    const ordered = sortedByTs(samples) ? samples : [...samples].sort((a, b) => a.ts - b.ts);
    for (const s of ordered) {
      if (!Number.isFinite(s.ts)) {
        this.skipped += METRICS.length;
        continue;
      }
      if (s.ts > this.newestTs) this.newestTs = s.ts;
      let state = this.vms.get(s.vmId);
      if (state) {
        if (state !== this.tail) {
          this.unlink(state);
          this.append(state);
        }
      } else {
        state = { vmId: s.vmId, detectors: new Array(METRICS.length).fill(undefined), lastTs: -Infinity, source, prev: undefined, next: undefined };
        this.vms.set(s.vmId, state);
        this.append(state);
      }
      if (s.ts > state.lastTs) state.lastTs = s.ts;
      state.source = source;
      for (let m = 0; m < METRICS.length; m++) {
        const value = READ_METRIC[m]!(s);
        if (!Number.isFinite(value)) {
          this.skipped += 1;
          continue;
        }
        let detector = state.detectors[m];
        if (!detector) {
          detector = state.detectors[m] = this.factory(METRICS[m]!);
          this.series += 1;
        }
        const verdict = detector.update(s.ts, value);
        this.scored += 1;
        if (verdict.alarm) {
          this.outbox.push({ ts: s.ts, hostId: s.hostId, vmId: s.vmId, metric: METRICS[m]!, value, expected: verdict.expected, score: verdict.score, explanation: verdict.explanation });
        }
      }
    }
    this.evict();
  }

  /**
   * Drops the state of every VM whose samples last came from `source` (a partition that another
   * worker reads now: it builds its own state, and this one would otherwise sit here until it
   * idles out). Returns the series dropped. O(VMs held); rebalances are rare.
   */
  release(source: number): number {
    let dropped = 0;
    for (let state = this.head; state;) {
      const next = state.next;
      if (state.source === source) dropped += this.drop(state);
      state = next;
    }
    return dropped;
  }

  private append(state: VmState): void {
    state.prev = this.tail;
    state.next = undefined;
    if (this.tail) this.tail.next = state;
    else this.head = state;
    this.tail = state;
  }

  private unlink(state: VmState): void {
    if (state.prev) state.prev.next = state.next;
    else this.head = state.next;
    if (state.next) state.next.prev = state.prev;
    else this.tail = state.prev;
    state.prev = state.next = undefined;
  }

  // The least recently updated VMs sit at the head of the list: drop from there while over
  // the bound or idle. O(evicted) per batch.
  private evict(): void {
    const idleBefore = this.newestTs - this.opts.idleMs;
    while (this.head) {
      if (this.series <= this.opts.maxSeries && this.head.lastTs >= idleBefore) break;
      this.drop(this.head);
    }
  }

  private drop(state: VmState): number {
    const n = state.detectors.reduce((k, d) => k + (d ? 1 : 0), 0);
    this.unlink(state);
    this.vms.delete(state.vmId);
    this.series -= n;
    this.evicted += n;
    return n;
  }

  /** Forgets every series of a VM (e.g. when it is deleted); returns how many were dropped. */
  forgetVm(vmId: string): number {
    const state = this.vms.get(vmId);
    return state ? this.drop(state) : 0;
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
