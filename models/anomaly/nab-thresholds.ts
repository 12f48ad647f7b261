import { NovaError } from '../../core/index.ts';
import { gateRuns, type PreparedCorpus, type RecordedRun } from './nab-evaluation.ts';
import { NAB_PROFILES, NAB_PROFILE_NAMES, normalizeScore, scoreFile, type NabProfileName } from './nab-scorer.ts';

export { NAB_SHIPPED_THRESHOLDS } from './shipped-thresholds.ts';

/** Candidate thresholds of the selection procedure. */
export const THRESHOLD_GRID: readonly number[] = Array.from({ length: 95 }, (_, i) => Math.round((0.05 + i * 0.01) * 100) / 100);

/** Raw NAB score of every file at every candidate threshold, per profile: `[profile][threshold][file]`. */
export type FileScoreGrid = Record<NabProfileName, number[][]>;

/** Scores a recorded run at every threshold of the grid (the detector runs once; `AlarmGate` replays it). */
export function fileScoreGrid(prepared: PreparedCorpus, runs: readonly RecordedRun[], grid: readonly number[] = THRESHOLD_GRID): FileScoreGrid {
  const out = Object.fromEntries(NAB_PROFILE_NAMES.map((p) => [p, [] as number[][]])) as FileScoreGrid;
  for (const threshold of grid) {
    const scores = gateRuns(runs, threshold);
    for (const p of NAB_PROFILE_NAMES) out[p].push(scores.map((s, i) => scoreFile(s, prepared.weights[i]![p], NAB_PROFILES[p], threshold).score));
  }
  return out;
}

// Normalised score of a subset of files (by index) at grid position t.
function subsetScore(prepared: PreparedCorpus, grid: FileScoreGrid, profile: NabProfileName, t: number, files: readonly number[]): { raw: number; normalized: number } {
  const cost = NAB_PROFILES[profile];
  let raw = 0;
  let scorable = 0;
  let windows = 0;
  for (const i of files) {
    raw += grid[profile][t]![i]!;
    scorable += prepared.weights[i]![profile].scorableWindows;
    windows += prepared.weights[i]![profile].windowCount;
  }
  const nullScore = -cost.fnWeight * scorable;
  const perfect = cost.tpWeight * windows;
  return { raw, normalized: perfect === nullScore ? Number.NaN : normalizeScore(raw, nullScore, perfect) };
}

/** Normalised score of our detector at each candidate threshold, for one profile (optionally on a subset of files). */
export function thresholdCurve(prepared: PreparedCorpus, grid: FileScoreGrid, profile: NabProfileName, thresholds: readonly number[] = THRESHOLD_GRID, files: readonly number[] = prepared.corpus.files.map((_, i) => i)): Array<{ threshold: number; normalized: number }> {
  return thresholds.map((threshold, t) => ({ threshold, normalized: subsetScore(prepared, grid, profile, t, files).normalized }));
}

/** The median of the thresholds scoring within `tolerance` points of the best (lower median on ties). */
export function selectThreshold(curve: ReadonlyArray<{ threshold: number; normalized: number }>, tolerance = 1): { threshold: number; best: number; plateau: [number, number] } {
  const valid = curve.filter((c) => Number.isFinite(c.normalized));
  if (valid.length === 0) throw new NovaError('NAB_EMPTY_CORPUS', 'no candidate thresholds to choose from (or no windows to score them on)');
  const best = Math.max(...valid.map((c) => c.normalized));
  const kept = valid.filter((c) => c.normalized >= best - tolerance).map((c) => c.threshold).sort((a, b) => a - b);
  return { threshold: kept[Math.floor((kept.length - 1) / 2)]!, best, plateau: [kept[0]!, kept[kept.length - 1]!] };
}

/** Category of a NAB file key: its folder (`realKnownCause/nyc_taxi.csv` → `realKnownCause`). */
export function nabCategory(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '.' : key.slice(0, slash);
}

/** One held-out category of a leave-one-category-out run. */
export interface HeldOutCategory {
  category: string;
  files: number;
  windows: number;
  /** Threshold selected on the other categories. */
  threshold: number;
  /** Raw NAB score of the held-out files at that threshold. */
  raw: number;
}

/**
 * Leave-one-category-out estimate of how the threshold selection generalises: for each folder,
 * select the threshold (`selectThreshold`) on the other folders only, score the held-out folder
 * at it; the held-out raw scores add up to a corpus score no threshold ever saw. This is what to
 * expect on a new kind of series, as long as the detector's design was not itself fitted to it.
 */
export function leaveOneCategoryOut(prepared: PreparedCorpus, grid: FileScoreGrid, profile: NabProfileName, thresholds: readonly number[] = THRESHOLD_GRID): { categories: HeldOutCategory[]; raw: number; normalized: number } {
  const keys = prepared.corpus.files.map((f) => nabCategory(f.key));
  const categories = [...new Set(keys)];
  if (categories.length < 2) throw new NovaError('NAB_EMPTY_CORPUS', 'leave-one-category-out needs files in at least two folders');
  const out: HeldOutCategory[] = categories.map((category) => {
    const held = keys.flatMap((k, i) => (k === category ? [i] : []));
    const rest = keys.flatMap((k, i) => (k === category ? [] : [i]));
    const { threshold } = selectThreshold(thresholdCurve(prepared, grid, profile, thresholds, rest));
    const t = thresholds.indexOf(threshold);
    return { category, files: held.length, windows: held.reduce((s, i) => s + prepared.weights[i]![profile].windowCount, 0), threshold, raw: subsetScore(prepared, grid, profile, t, held).raw };
  });
  const cost = NAB_PROFILES[profile];
  const raw = out.reduce((s, c) => s + c.raw, 0);
  const scorable = prepared.weights.reduce((s, w) => s + w[profile].scorableWindows, 0);
  return { categories: out, raw, normalized: normalizeScore(raw, -cost.fnWeight * scorable, cost.tpWeight * prepared.windowCount) };
}
