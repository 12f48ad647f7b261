import type { EnergyLowerBound } from './lower-bound.ts';
import { backtestCost, billedHostHours, type BacktestCostRates } from './run-cost.ts';
import type { BacktestResult } from './simulator.ts';

/** One line of the benchmark tables; a missing figure prints as "—". */
export interface TableRow {
  readonly label: string;
  readonly energyKWh?: number;
  readonly migrations?: number;
  /** Percent figures, as printed (×100 already). */
  readonly slatahPct?: number;
  readonly pdmPct?: number;
  readonly slavPct?: number;
  readonly activeHostHours?: number;
  readonly shutdowns?: number;
  readonly costUsd?: number;
  readonly runtime?: string;
}

const COLUMNS: ReadonlyArray<[string, number]> = [['policy', 34], ['energy kWh', 11], ['migrations', 11], ['SLATAH %', 9], ['PDM %', 7], ['SLAV %', 9], ['active host-h', 14], ['shutdowns', 10], ['cost $', 9], ['runtime', 9]];

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const fixed = (x: number | undefined, digits: number): string => (x === undefined ? '—' : x.toFixed(digits));

/**
 * A percentage at CloudSim's printed precision, except that a non-zero value too small for it
 * is shown in exponent form (Bitbrains' SLAV is ~1e-9 %): "0.00000" must mean zero.
 */
export function formatPercent(x: number | undefined, digits: number): string {
  if (x === undefined) return '—';
  if (x !== 0 && Math.abs(x) < 0.5 * 10 ** -digits) return x.toExponential(1);
  return x.toFixed(digits);
}

function cells(cs: readonly string[]): string {
  return cs.map((c, i) => (i === 0 ? pad(c, COLUMNS[0]![1]) : lpad(c, COLUMNS[i]![1]))).join(' ');
}

/** Column titles and the rule under them. */
export function tableHeader(): string[] {
  return [cells(COLUMNS.map(([name]) => name)), '-'.repeat(COLUMNS.reduce((s, [, w]) => s + w + 1, -1))];
}

/** One formatted table line. */
export function tableLine(r: TableRow): string {
  return cells([r.label, fixed(r.energyKWh, 2), r.migrations === undefined ? '—' : String(r.migrations), formatPercent(r.slatahPct, 2), formatPercent(r.pdmPct, 2), formatPercent(r.slavPct, 5), fixed(r.activeHostHours, 1), r.shutdowns === undefined ? '—' : String(r.shutdowns), fixed(r.costUsd, 2), r.runtime ?? '']);
}

/** Cost of a run under the given rates ($). */
export function resultCost(r: BacktestResult, rates: BacktestCostRates): number {
  return backtestCost(r.energyKWh, billedHostHours(r), rates);
}

/** The table row of a simulated run. */
export function resultRow(label: string, r: BacktestResult, rates: BacktestCostRates): TableRow {
  return {
    label,
    energyKWh: r.energyKWh,
    migrations: r.migrations,
    slatahPct: r.slatah * 100,
    pdmPct: r.pdm * 100,
    slavPct: r.slav * 100,
    activeHostHours: r.activeHostHours,
    shutdowns: r.hostShutdowns,
    costUsd: resultCost(r, rates),
    runtime: `${(r.runtimeMs / 1000).toFixed(2)} s`,
  };
}

/** The table row of the energy lower bound: no migrations and no SLA violation by construction. */
export function lowerBoundRow(lb: EnergyLowerBound, rates: BacktestCostRates): TableRow {
  return {
    label: lb.name,
    energyKWh: lb.energyKWh,
    migrations: 0,
    slatahPct: 0,
    pdmPct: 0,
    slavPct: 0,
    activeHostHours: lb.activeHostHours,
    costUsd: backtestCost(lb.energyKWh, lb.activeHostHours, rates),
    runtime: `${(lb.runtimeMs / 1000).toFixed(2)} s`,
  };
}
