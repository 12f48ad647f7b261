import { SeriesIndex } from './features.ts';
import { naiveScale } from './metrics.ts';
import { hashString } from './random.ts';
import type { RegularSeries } from './series.ts';

/**
 * The rolling-origin protocol (see bench/forecast.ts for the full statement):
 * each series of length N is split in time at T0 = N − max(⌈testFraction·N⌉, minTestSteps);
 * everything fitted (baseline parameters, network weights, calibration) sees only [0, T0);
 * forecasts are made from every origin t ∈ [T0 − 1, N − 1 − h] for the targets y[t + h].
 * A seeded share of the VMs (by entity) is held out of network training: their training
 * part is the calibration and validation data.
 */
export interface Protocol {
  testFraction: number;
  minTestSteps: number;
  /** Series shorter than this (steps) are not evaluated. */
  minLength: number;
  /** Lead times (steps) the bench reports. */
  evalHorizons: number[];
  calibrationShare: number;
  seed: number;
}

/** 20 % (at least 12 h) test; a quarter of the VMs for calibration; reports at 1 h and 6 h. */
export const DEFAULT_PROTOCOL: Readonly<Protocol> = Object.freeze({
  testFraction: 0.2,
  minTestSteps: 144,
  minLength: 288,
  evalHorizons: [12, 72],
  calibrationShare: 0.25,
  seed: 20240601,
});

/** One series with its split and MASE scale. */
export interface SplitSeries {
  idx: SeriesIndex;
  /** First index of the test part (T0). */
  testStart: number;
  /** True when the series' VM is held out of network training for calibration/validation. */
  calibration: boolean;
  /** In-sample MAE of the one-step naive over [0, T0); 0 = flat, MASE undefined. */
  scale: number;
}

/** First test index T0 of a series of n steps. */
export function testStartOf(n: number, p: Protocol): number {
  return n - Math.max(Math.ceil(p.testFraction * n), p.minTestSteps);
}

/**
 * The calibration VMs: per trace kind (the entity's first path segment), the ⌈share × count⌉
 * entities with the smallest seeded hash of their name. Exact shares even for small fleets,
 * and independent of listing order; every metric of a VM falls on the same side.
 */
export function calibrationEntities(entities: Iterable<string>, p: Protocol): Set<string> {
  const byKind = new Map<string, string[]>();
  for (const e of new Set(entities)) {
    const kind = e.split('/')[0]!;
    const list = byKind.get(kind) ?? [];
    list.push(e);
    byKind.set(kind, list);
  }
  const out = new Set<string>();
  for (const list of byKind.values()) {
    const ranked = list.map((e) => ({ e, h: hashString(e, p.seed) })).sort((a, b) => a.h - b.h || (a.e < b.e ? -1 : 1));
    // Keep at least one VM for training when the fleet is tiny.
    const k = Math.min(list.length - 1, Math.ceil(p.calibrationShare * list.length));
    for (const { e } of ranked.slice(0, Math.max(0, k))) out.add(e);
  }
  return out;
}

/** Splits every series long enough to evaluate; shorter ones are returned apart. */
export function splitSeries(series: readonly RegularSeries[], p: Protocol): { splits: SplitSeries[]; tooShort: RegularSeries[] } {
  const splits: SplitSeries[] = [];
  const tooShort: RegularSeries[] = [];
  const held = calibrationEntities(series.filter((s) => s.values.length >= p.minLength).map((s) => s.entity), p);
  for (const s of series) {
    const n = s.values.length;
    if (n < p.minLength) {
      tooShort.push(s);
      continue;
    }
    const testStart = testStartOf(n, p);
    splits.push({ idx: new SeriesIndex(s), testStart, calibration: held.has(s.entity), scale: naiveScale(s.values, testStart, 1) });
  }
  return { splits, tooShort };
}
