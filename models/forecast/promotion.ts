import type { Cell, MethodName } from './evaluate.ts';

/** Validation score of one method, over the cells it shares with the model. */
export interface MethodScore {
  method: MethodName;
  /** Mean over (series, horizon) cells of MAE / series scale. */
  mase: number;
  /** Mean over cells of mean pinball loss / series scale. */
  pinball: number;
  cells: number;
}

/** The promotion verdict on a candidate model and the numbers behind it. */
export interface PromotionDecision {
  status: 'promoted' | 'rejected';
  reason: string;
  /** The best baseline by pinball loss, scored on the cells it shares with the model. */
  bestBaseline: { baseline: MethodScore; model: MethodScore } | undefined;
  /** Model against each baseline, pairwise on common cells. */
  comparisons: Array<{ baseline: MethodScore; model: MethodScore }>;
}

function score(method: MethodName, cells: readonly Cell[]): MethodScore {
  let mase = 0;
  let pin = 0;
  for (const c of cells) {
    mase += c.sums.absError / c.sums.n / c.scale;
    pin += c.sums.pinball.reduce((s, x) => s + x, 0) / c.sums.pinball.length / c.sums.n / c.scale;
  }
  return { method, mase: mase / cells.length, pinball: pin / cells.length, cells: cells.length };
}

/**
 * The promotion rule: the model is promoted only when, on its validation data, it beats every
 * baseline — hence the best one — on both the scaled pinball loss (the quantiles the scheduler
 * uses) and MASE (the median), each pair compared on the (series, horizon) cells both scored.
 * Anything else, including no validation data, is a rejection: the registry keeps serving the
 * version it served before.
 */
export function decidePromotion(validation: readonly Cell[]): PromotionDecision {
  const usable = validation.filter((c) => c.scale > 0 && c.sums.n > 0);
  const key = (c: Cell) => `${c.group}|${c.seriesId}|${c.horizon}`;
  const model = new Map(usable.filter((c) => c.method === 'model').map((c) => [key(c), c]));
  const baselines = [...new Set(usable.map((c) => c.method))].filter((m) => m !== 'model');
  if (model.size === 0 || baselines.length === 0) {
    return { status: 'rejected', reason: 'no validation cells for the model and a baseline: nothing shows it is better', bestBaseline: undefined, comparisons: [] };
  }
  const comparisons = baselines.map((b) => {
    const theirs = usable.filter((c) => c.method === b && model.has(key(c)));
    return { baseline: score(b, theirs), model: score('model', theirs.map((c) => model.get(key(c))!)) };
  }).filter((c) => c.baseline.cells > 0);
  const best = [...comparisons].sort((a, b) => a.baseline.pinball - b.baseline.pinball)[0];
  const losses = comparisons.filter((c) => !(c.model.pinball < c.baseline.pinball && c.model.mase < c.baseline.mase));
  if (!best) return { status: 'rejected', reason: 'no baseline shares validation cells with the model', bestBaseline: undefined, comparisons };
  if (losses.length > 0) {
    const l = losses[0]!;
    return {
      status: 'rejected',
      reason: `not better than ${l.baseline.method} on validation (pinball ${l.model.pinball.toFixed(4)} vs ${l.baseline.pinball.toFixed(4)}, MASE ${l.model.mase.toFixed(4)} vs ${l.baseline.mase.toFixed(4)})`,
      bestBaseline: best,
      comparisons,
    };
  }
  return {
    status: 'promoted',
    reason: `beats every baseline on validation; best baseline ${best.baseline.method}: pinball ${best.model.pinball.toFixed(4)} vs ${best.baseline.pinball.toFixed(4)}, MASE ${best.model.mase.toFixed(4)} vs ${best.baseline.mase.toFixed(4)}`,
    bestBaseline: best,
    comparisons,
  };
}
