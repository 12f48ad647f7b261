import { StreamingAnomalyDetector, type AnomalyExplanation, type DetectorOptions, type DetectorOutput } from './detector.ts';

/** An alarm raised on one series: what, when, how anomalous and why. */
export interface AnomalyEvent {
  /** Series key, e.g. `host-7/cpu_util`: names the metric the event is about. */
  series: string;
  ts: number;
  score: number;
  explanation: AnomalyExplanation;
  /** One line for people: value against expectation and the reason. */
  message: string;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}

/** Human-readable line for an event's explanation (prefixed with the series when given). */
export function describeAnomaly(series: string | undefined, e: AnomalyExplanation): string {
  const scale = e.typicalDeviation > 0 ? `, ${fmt(Math.abs(e.deviation) / e.typicalDeviation)}× the typical change` : '';
  const sign = e.deviation >= 0 ? '+' : '';
  const why = {
    'new-extreme': `outside everything seen so far [${fmt(e.min)}, ${fmt(e.max)}]`,
    'unusual-change': 'a change larger than almost any seen before',
    'unusual-for-time-of-day': `far from the usual ${fmt(e.seasonalExpected)} at this time of day`,
    'novel-pattern': 'a sequence of levels never seen before',
    'unusual-run': 'an unusually long run of surprising samples',
    none: 'no single cause',
  }[e.reason];
  return `${series ? `${series}: ` : ''}${fmt(e.value)} vs expected ${fmt(e.expected)} (${sign}${fmt(e.deviation)}${scale}); ${why}`;
}

/**
 * One detector per series, created on first sight: the per-series state the streaming worker
 * keeps. Series are independent, so a bank can be sharded by series key across workers.
 */
export class AnomalyDetectorBank {
  private readonly detectors = new Map<string, StreamingAnomalyDetector>();

  constructor(private readonly options: Partial<DetectorOptions> = {}) {}

  /** Number of series seen. */
  get size(): number {
    return this.detectors.size;
  }

  /** Feeds one sample of one series; returns the detector's output and, on an alarm, the event. */
  update(series: string, ts: number, value: number): DetectorOutput & { event?: AnomalyEvent } {
    let d = this.detectors.get(series);
    if (!d) {
      d = new StreamingAnomalyDetector(this.options);
      this.detectors.set(series, d);
    }
    const out = d.update(ts, value);
    if (!out.alarm) return out;
    return { ...out, event: { series, ts, score: out.score, explanation: out.explanation, message: describeAnomaly(series, out.explanation) } };
  }

  /** Bytes of detector state held, summed over the series. */
  get stateBytes(): number {
    let bytes = 0;
    for (const d of this.detectors.values()) bytes += d.stateBytes;
    return bytes;
  }

  /** Forgets a series (e.g. a deleted VM). */
  drop(series: string): boolean {
    return this.detectors.delete(series);
  }
}

/** What the streams worker's per-series port (`SeriesDetector` in streams/anomaly-stage.ts) expects. */
export interface SeriesVerdict {
  score: number;
  expected: number;
  /** One line for people on an alarm; empty otherwise (formatting every sample would cost more than scoring it). */
  explanation: string;
  alarm: boolean;
}

/**
 * A detector for one series shaped for the streams stage: text explanation, expected value in
 * the metric's unit. A class rather than an object literal with closures: the worker holds one
 * per series, and a literal's closures, context and accessor cost ~450 bytes each.
 */
class SeriesDetectorPort {
  private readonly detector: StreamingAnomalyDetector;

  constructor(options: Partial<DetectorOptions>) {
    this.detector = new StreamingAnomalyDetector(options);
  }

  update(ts: number, value: number): SeriesVerdict {
    // Only an alarm's explanation is ever read: neither built nor formatted for the other 99.9 % of samples.
    const out = this.detector.updateQuiet(ts, value);
    return { score: out.score, expected: out.expected, explanation: out.alarm && out.explanation ? describeAnomaly(undefined, out.explanation) : '', alarm: out.alarm };
  }

  get stateBytes(): number {
    return this.detector.stateBytes;
  }
}

/** A detector for one series shaped for the streams stage: text explanation, expected value in the metric's unit. */
export function createSeriesDetector(options: Partial<DetectorOptions> = {}): { update(ts: number, value: number): SeriesVerdict; readonly stateBytes: number } {
  return new SeriesDetectorPort(options);
}
