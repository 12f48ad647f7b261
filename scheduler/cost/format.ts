// Number formats shared by the explanations, so every reason reads the same way.

export const GIB = 1024 ** 3;

/** Hours in a month as cloud bills count them (8,760 h / 12). */
export const HOURS_PER_MONTH = 730;

export const gib = (bytes: number): string => (bytes / GIB).toFixed(2);
export const cores = (x: number): string => x.toFixed(2);
export const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
export const money = (x: number, currency: string): string => `${x.toFixed(2)} ${currency}`;
/** Hourly prices need more digits than totals: 0.0096/h is a real spot price. */
export const rate = (x: number, currency: string): string => `${x.toFixed(4)} ${currency}/h`;

/**
 * True when `need` does not exceed `have` up to a relative 1e-9, the scheduler's capacity
 * tolerance: float round-off in a sum or a GiB conversion must not flip a fit.
 */
export function withinTolerance(need: number, have: number): boolean {
  return need <= have + Math.abs(have) * 1e-9;
}

// Code-unit order, independent of locale, so every process breaks ties the same way.
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
