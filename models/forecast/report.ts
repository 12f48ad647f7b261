import { meanSimple } from 'simple-statistics';
import type { Cell, MethodName } from './evaluate.ts';

/** Metrics of one (group, method, horizon), pooled over its series. */
export interface SummaryRow {
  group: string;
  method: MethodName;
  horizon: number;
  /** Series scored, and of those with a positive MASE scale. */
  series: number;
  scaledSeries: number;
  points: number;
  /** Mean over series of MAE / scale (series with scale 0 left out). */
  mase: number;
  /** Mean over series of mean sMAPE (%). */
  smape: number;
  /** Mean over series of (mean pinball over quantile levels) / scale. */
  pinball: number;
  /** Per quantile level: share of all points at or below the forecast. */
  coverage: number[];
}

function cellMase(c: Cell): number {
  return c.sums.absError / c.sums.n / c.scale;
}

function cellPinball(c: Cell): number {
  const p = c.sums.pinball;
  return p.reduce((s, x) => s + x, 0) / p.length / c.sums.n / c.scale;
}

/** Rows keyed by group, method and horizon, in the order the cells came. */
export function summarise(cells: readonly Cell[]): SummaryRow[] {
  const keyed = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = `${c.group}\u0000${c.method}\u0000${c.horizon}`;
    const list = keyed.get(k) ?? [];
    list.push(c);
    keyed.set(k, list);
  }
  return [...keyed.values()].map((list) => {
    const first = list[0]!;
    const scaled = list.filter((c) => c.scale > 0);
    const points = list.reduce((s, c) => s + c.sums.n, 0);
    const Q = first.sums.covered.length;
    return {
      group: first.group,
      method: first.method,
      horizon: first.horizon,
      series: list.length,
      scaledSeries: scaled.length,
      points,
      mase: mean(scaled.map(cellMase)),
      smape: mean(list.map((c) => c.sums.smape / c.sums.n)),
      pinball: mean(scaled.map(cellPinball)),
      coverage: Array.from({ length: Q }, (_, k) => list.reduce((s, c) => s + c.sums.covered[k]!, 0) / points),
    };
  });
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : meanSimple(xs);
}

/**
 * The naive reference of each (group, horizon): the last value, or the seasonal naive when it
 * forecast every series of the group (a full season of history before every origin) and has
 * the lower MASE there. Keyed `group|horizon`.
 */
export function naiveReference(rows: readonly SummaryRow[]): Map<string, MethodName> {
  const out = new Map<string, MethodName>();
  for (const naive of rows.filter((r) => r.method === 'naive')) {
    const seasonal = rows.find((r) => r.method === 'seasonal-naive' && r.group === naive.group && r.horizon === naive.horizon);
    const seasonalCovers = seasonal !== undefined && seasonal.series === naive.series && seasonal.scaledSeries === naive.scaledSeries;
    out.set(`${naive.group}|${naive.horizon}`, seasonalCovers && seasonal.mase < naive.mase ? 'seasonal-naive' : 'naive');
  }
  return out;
}

/** Pooled comparison of one method with the naive reference over the same (series, horizon) cells. */
export interface Pooled {
  /** Mean over cells of the method's MASE / mean over the same cells of the reference's MASE. */
  maseRatio: number;
  methodMase: number;
  referenceMase: number;
  /** Coverage per quantile level over every point of every cell. */
  coverage: number[];
  cells: number;
  points: number;
}

/** Pools `method` against the naive reference over the given groups and every horizon in the cells. */
export function pool(cells: readonly Cell[], method: MethodName, reference: Map<string, MethodName>, groups: ReadonlySet<string>): Pooled {
  const refCells = new Map<string, Cell>();
  for (const c of cells) {
    if (!groups.has(c.group) || c.scale <= 0) continue;
    if (reference.get(`${c.group}|${c.horizon}`) === c.method) refCells.set(`${c.group}|${c.seriesId}|${c.horizon}`, c);
  }
  const mine = cells.filter((c) => groups.has(c.group) && c.method === method);
  let sumM = 0;
  let sumR = 0;
  let n = 0;
  for (const c of mine) {
    const r = refCells.get(`${c.group}|${c.seriesId}|${c.horizon}`);
    if (!r || c.scale <= 0) continue;
    sumM += cellMase(c);
    sumR += cellMase(r);
    n++;
  }
  const points = mine.reduce((s, c) => s + c.sums.n, 0);
  const Q = mine[0]?.sums.covered.length ?? 0;
  return {
    maseRatio: sumM / sumR,
    methodMase: sumM / n,
    referenceMase: sumR / n,
    coverage: Array.from({ length: Q }, (_, k) => mine.reduce((s, c) => s + c.sums.covered[k]!, 0) / points),
    cells: n,
    points,
  };
}
