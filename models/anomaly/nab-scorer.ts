import { NovaError } from '../../core/index.ts';
import type { NabWindowLimits } from './nab-data.ts';

// A faithful port of NAB v1.1's scoring (nab/sweeper.py, nab/scorer.py, nab/optimizer.py,
// nab/util.py at numenta/NAB ea702d7). Comments name the Python function each piece mirrors.

/** The three NAB application profiles. */
export type NabProfileName = 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';

/** Weights of one NAB profile (NAB's profiles.json "CostMatrix"; tnWeight is unused by NAB). */
export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** NAB's config/profiles.json, fixed by the benchmark (a test checks it against the shipped copy). */
export const NAB_PROFILES: Readonly<Record<NabProfileName, Readonly<CostMatrix>>> = Object.freeze({
  standard: Object.freeze({ tpWeight: 1, fpWeight: 0.11, fnWeight: 1 }),
  reward_low_FP_rate: Object.freeze({ tpWeight: 1, fpWeight: 0.22, fnWeight: 1 }),
  reward_low_FN_rate: Object.freeze({ tpWeight: 1, fpWeight: 0.11, fnWeight: 2 }),
});

/** Profile names in the order NAB's scoreboard prints them. */
export const NAB_PROFILE_NAMES: readonly NabProfileName[] = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'];

/** Share of each file NAB treats as probation (runner.py `probationaryPercent`). */
export const NAB_PROBATION_PERCENT = 0.15;

/** Row marker for rows inside the probationary period (sweeper's windowName "probationary"). */
const PROBATION = -2;
/** Row marker for rows outside every window (sweeper's windowName None). */
const OUTSIDE = -1;

/** sweeper.scaledSigmoid: 2·sigmoid(−5y) − 1, and −1 once y ≥ 3 (far past a window). */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/**
 * util.getProbationPeriod: min(floor(p·rows), p·5000). Rows with index below it are never scored.
 * (A float, as in NAB: for files over 5000 rows the bound is 750.0.)
 */
export function probationaryLength(rows: number, percent: number = NAB_PROBATION_PERCENT): number {
  return Math.min(Math.floor(percent * rows), percent * 5000);
}

/** Row indices (inclusive) of one window. */
export interface WindowRows {
  start: number;
  end: number;
}

/**
 * Row ranges of the windows of one file. NAB's sweeper finds both limits by exact timestamp
 * equality; a limit that names no row would be silently skipped (start) or crash (end) there,
 * so here it is an error that says which window.
 */
export function windowRowRanges(timestamps: readonly number[], limits: NabWindowLimits, fileKey = 'file'): WindowRows[] {
  const rowOf = new Map<number, number>();
  // First occurrence wins, as list.index() in the sweeper.
  timestamps.forEach((t, i) => {
    if (!rowOf.has(t)) rowOf.set(t, i);
  });
  const ranges = limits.map(([t1, t2]) => {
    const start = rowOf.get(t1);
    const end = rowOf.get(t2);
    if (start === undefined || end === undefined || end < start) {
      throw new NovaError('NAB_BAD_WINDOW', `${fileKey}: window [${new Date(t1).toISOString()}, ${new Date(t2).toISOString()}] does not start and end on rows of the file`);
    }
    return { start, end };
  });
  // The sweeper consumes windows in chronological order.
  ranges.sort((a, b) => a.start - b.start);
  for (let k = 1; k < ranges.length; k++) {
    if (ranges[k]!.start <= ranges[k - 1]!.end) throw new NovaError('NAB_BAD_WINDOW', `${fileKey}: windows ${k - 1} and ${k} overlap; NAB merges overlapping windows when labelling`);
  }
  return ranges;
}

/** Per-row scoring weights of one file under one profile (what sweeper.calcSweepScore computes). */
export interface RowWeights {
  /** Weight a detection on this row contributes (TP weight inside a window, FP weight outside). */
  weight: Float64Array;
  /** Window index of each row, −1 outside every window, −2 inside the probationary period. */
  window: Int32Array;
  /** Number of windows that have at least one scorable row (each costs fnWeight if missed). */
  scorableWindows: number;
  windowCount: number;
}

/**
 * sweeper.calcSweepScore: inside window k (width w, right edge r) row i weighs
 * tpWeight·σ(−(r − i + 1)/w)/σ(−1); outside, fpWeight·σ(|r − i|/(w − 1)) after the last
 * window that ended, −fpWeight before the first.
 */
export function rowWeights(rows: number, windows: readonly WindowRows[], cost: CostMatrix, probation: number = probationaryLength(rows)): RowWeights {
  const weight = new Float64Array(rows);
  const window = new Int32Array(rows);
  const maxTP = scaledSigmoid(-1);
  let k = 0;
  let cur: WindowRows | undefined;
  let prev: WindowRows | undefined;
  const scorable = new Set<number>();
  for (let i = 0; i < rows; i++) {
    if (!cur && k < windows.length && windows[k]!.start === i) cur = windows[k++];
    if (cur) {
      const width = cur.end - cur.start + 1;
      weight[i] = (scaledSigmoid(-(cur.end - i + 1) / width) * cost.tpWeight) / maxTP;
      window[i] = k - 1;
    } else {
      let position = 3;
      if (prev) {
        const width = prev.end - prev.start + 1;
        // A one-row window would divide by zero in Python; treat what follows as far past it.
        position = width > 1 ? Math.abs(prev.end - i) / (width - 1) : 3;
      }
      weight[i] = scaledSigmoid(position) * cost.fpWeight;
      window[i] = OUTSIDE;
    }
    if (i < probation) window[i] = PROBATION;
    else if (window[i]! >= 0) scorable.add(window[i]!);
    if (cur && i === cur.end) {
      prev = cur;
      cur = undefined;
    }
  }
  return { weight, window, scorableWindows: scorable.size, windowCount: windows.length };
}

/** Score and confusion counts of one file at one threshold (a row of NAB's `<det>_<profile>_scores.csv`). */
export interface FileScore {
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  /** Rows scored (after probation). */
  total: number;
  /** Windows with at least one detection. */
  detectedWindows: number;
}

/**
 * NAB's score of one file at one threshold (sweeper.scoreDataSet): row i is a detection iff
 * anomalyScore ≥ threshold; every detection outside windows adds its FP weight, each window adds
 * the weight of its earliest detection, or −fnWeight if it has none.
 */
export function scoreFile(anomalyScores: ArrayLike<number>, rw: RowWeights, cost: CostMatrix, threshold: number): FileScore {
  if (anomalyScores.length !== rw.weight.length) {
    throw new NovaError('NAB_LENGTH_MISMATCH', `got ${anomalyScores.length} anomaly scores for a file of ${rw.weight.length} rows`);
  }
  const best = new Map<number, number>();
  let fpScore = 0;
  const counts = { tp: 0, tn: 0, fp: 0, fn: 0 };
  for (let i = 0; i < anomalyScores.length; i++) {
    const w = rw.window[i]!;
    if (w === PROBATION) continue;
    const detected = anomalyScores[i]! >= threshold;
    if (w === OUTSIDE) {
      if (detected) {
        counts.fp++;
        fpScore += rw.weight[i]!;
      } else counts.tn++;
    } else if (detected) {
      counts.tp++;
      const prior = best.get(w);
      if (prior === undefined || rw.weight[i]! > prior) best.set(w, rw.weight[i]!);
    } else counts.fn++;
  }
  let windowScore = 0;
  const scorable = new Set<number>();
  for (const w of rw.window) if (w >= 0) scorable.add(w);
  for (const w of scorable) windowScore += best.get(w) ?? -cost.fnWeight;
  return { score: fpScore + windowScore, ...counts, total: counts.tp + counts.tn + counts.fp + counts.fn, detectedWindows: best.size };
}

/** Total corpus score at one candidate threshold (a row of sweeper.calcScoreByThreshold). */
export interface ThresholdScore {
  threshold: number;
  score: number;
}

/**
 * sweeper.calcScoreByThreshold over a whole corpus (what NAB v1.1's optimizer does): the
 * candidates are 1.1 (no detection) and every distinct anomaly score; returns each candidate's
 * total score, highest threshold first.
 */
export function sweepThresholds(files: ReadonlyArray<{ scores: ArrayLike<number>; weights: RowWeights }>, cost: CostMatrix): ThresholdScore[] {
  const points: Array<{ a: number; w: number; win: number }> = [];
  const windowParts: number[] = [];
  let windowBase = 0;
  for (const { scores, weights } of files) {
    if (scores.length !== weights.weight.length) throw new NovaError('NAB_LENGTH_MISMATCH', `got ${scores.length} anomaly scores for a file of ${weights.weight.length} rows`);
    const seen = new Set<number>();
    for (let i = 0; i < scores.length; i++) {
      const win = weights.window[i]!;
      if (win === PROBATION) continue;
      points.push({ a: scores[i]!, w: weights.weight[i]!, win: win === OUTSIDE ? OUTSIDE : windowBase + win });
      if (win >= 0) seen.add(win);
    }
    for (let k = 0; k < weights.windowCount; k++) windowParts.push(seen.has(k) ? -cost.fnWeight : 0);
    windowBase += weights.windowCount;
  }
  points.sort((p, q) => q.a - p.a);
  let fp = 0;
  let windowsTotal = windowParts.reduce((s, v) => s + v, 0);
  const out: ThresholdScore[] = [];
  let cur = 1.1;
  for (const p of points) {
    if (p.a !== cur) {
      out.push({ threshold: cur, score: fp + windowsTotal });
      cur = p.a;
    }
    if (p.win === OUTSIDE) fp += p.w;
    else if (p.w > windowParts[p.win]!) {
      windowsTotal += p.w - windowParts[p.win]!;
      windowParts[p.win] = p.w;
    }
  }
  out.push({ threshold: cur, score: fp + windowsTotal });
  return out;
}

/** optimizer.optimizeThreshold: the candidate with the highest corpus score (the highest threshold on ties, as Python's stable sort). */
export function bestThreshold(sweep: readonly ThresholdScore[]): ThresholdScore {
  let best = sweep[0];
  if (!best) throw new NovaError('NAB_EMPTY_CORPUS', 'no rows to choose a threshold from');
  for (const s of sweep) if (s.score > best.score) best = s;
  return best;
}

/**
 * runner.normalize: 100·(S − S_null)/(S_perfect − S_null), where S_null is the null detector's
 * corpus score (no detection: −fnWeight per scorable window) and S_perfect = tpWeight × #windows.
 */
export function normalizeScore(raw: number, nullScore: number, perfectScore: number): number {
  if (perfectScore === nullScore) throw new NovaError('NAB_NO_WINDOWS', 'cannot normalise a NAB score without any anomaly window');
  return (100 * (raw - nullScore)) / (perfectScore - nullScore);
}

/** One file prepared for scoring: its key, the detector's scores and the file's row weights. */
export interface ScoredFileInput {
  key: string;
  scores: ArrayLike<number>;
  weights: RowWeights;
}

/** A corpus scored under one profile at one threshold, with NAB's normalisation. */
export interface CorpusScore {
  profile: NabProfileName;
  threshold: number;
  files: Array<FileScore & { key: string }>;
  raw: number;
  nullScore: number;
  perfectScore: number;
  normalized: number;
}

/** Scores every file at one threshold and normalises the total against the null and perfect detectors (NaN without windows). */
export function scoreCorpus(files: readonly ScoredFileInput[], profile: NabProfileName, threshold: number): CorpusScore {
  const cost = NAB_PROFILES[profile];
  const scored = files.map((f) => ({ key: f.key, ...scoreFile(f.scores, f.weights, cost, threshold) }));
  const raw = scored.reduce((s, f) => s + f.score, 0);
  const nullScore = -cost.fnWeight * files.reduce((s, f) => s + f.weights.scorableWindows, 0);
  const perfectScore = cost.tpWeight * files.reduce((s, f) => s + f.weights.windowCount, 0);
  // A corpus without windows (e.g. only artificialNoAnomaly) has no NAB normalisation: NaN, as 0/0.
  const normalized = perfectScore === nullScore ? Number.NaN : normalizeScore(raw, nullScore, perfectScore);
  return { profile, threshold, files: scored, raw, nullScore, perfectScore, normalized };
}
