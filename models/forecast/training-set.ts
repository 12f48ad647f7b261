import { writeFeatures } from './features.ts';
import type { SplitSeries } from './protocol.ts';
import { mulberry32 } from './random.ts';
import { featureCount, type ModelSpec } from './spec.ts';
import type { TrainingSet } from './tf-train.ts';

/** Options of buildTrainingSet. */
export interface TrainingSetOptions {
  /** Examples kept per group (uniform sample): one data-rich trace kind must not drown the others. */
  maxPerGroup: number;
  seed: number;
}

/** Default: 60k examples per group. */
export const DEFAULT_TRAINING_SET: Readonly<TrainingSetOptions> = Object.freeze({ maxPerGroup: 60_000, seed: 7 });

/**
 * Training examples from the training part [0, T0) of each given series: every origin with a
 * complete lag window whose targets at all horizons are observed and lie before T0.
 * Targets are normalised like the inputs and clipped to ± targetClip.
 */
export function buildTrainingSet(spec: ModelSpec, splits: readonly SplitSeries[], opts: TrainingSetOptions = DEFAULT_TRAINING_SET): TrainingSet & { perGroup: Map<string, number> } {
  const maxH = Math.max(...spec.horizons);
  const byGroup = new Map<string, Array<[number, number]>>();
  splits.forEach((s, si) => {
    const v = s.idx.series.values;
    const list = byGroup.get(s.idx.series.group) ?? [];
    for (let t = spec.lags - 1; t + maxH <= s.testStart - 1; t++) {
      if (!s.idx.windowComplete(t, spec.lags)) continue;
      if (spec.horizons.every((h) => Number.isFinite(v[t + h]!))) list.push([si, t]);
    }
    byGroup.set(s.idx.series.group, list);
  });
  const rand = mulberry32(opts.seed);
  const chosen: Array<[number, number]> = [];
  const perGroup = new Map<string, number>();
  for (const [group, list] of [...byGroup].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // Partial Fisher-Yates: the first k entries become a uniform sample without replacement.
    const k = Math.min(opts.maxPerGroup, list.length);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rand() * (list.length - i));
      const tmp = list[i]!;
      list[i] = list[j]!;
      list[j] = tmp;
    }
    chosen.push(...list.slice(0, k));
    perGroup.set(group, k);
  }
  const f = featureCount(spec);
  const H = spec.horizons.length;
  const x = new Float32Array(chosen.length * f);
  const y = new Float32Array(chosen.length * H);
  chosen.forEach(([si, t], r) => {
    const s = splits[si]!;
    const { centre, scale } = writeFeatures(spec, s.idx, t, x, r * f);
    spec.horizons.forEach((h, j) => {
      const z = (s.idx.series.values[t + h]! - centre) / scale;
      y[r * H + j] = Math.max(-spec.targetClip, Math.min(spec.targetClip, z));
    });
  });
  return { x, y, n: chosen.length, perGroup };
}
