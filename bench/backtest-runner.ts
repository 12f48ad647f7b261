/** What bench:planetlab and bench:backtest share: flag checks, the policy list, the run loop, the goal line. */
import { NovaError } from '../core/index.ts';
import { ALL_POLICIES, createPolicy, resultRow, runBacktest, tableLine, type BacktestCostRates, type BacktestPolicy, type BacktestResult, type Experiment } from '../replay/index.ts';

/** A usage error: exit code 2, the usage text after the message. */
export function usageError(message: string, usage: string): NovaError {
  return new NovaError('BENCH_USAGE', `${message}\n${usage}`);
}

/** A numeric flag: non-negative, or a positive integer when `integer`; undefined when absent. */
export function numberFlag(value: string | undefined, flag: string, integer: boolean, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x) || x < 0 || (integer && (!Number.isInteger(x) || x < 1))) {
    throw usageError(`${flag} must be a ${integer ? 'positive integer' : 'non-negative number'}, got ${JSON.stringify(value)}`, usage);
  }
  return x;
}

/** The policies to run, checked; ours always runs, and last, so the final line can report it. */
export function policyList(list: string | undefined, defaults: readonly string[], ours: string, usage: string): string[] {
  const policies = (list ?? defaults.join(',')).split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
  for (const p of [...policies, ours]) if (!(p in ALL_POLICIES)) throw usageError(`unknown policy "${p}"`, usage);
  return [...new Set([...policies.filter((p) => p !== ours), ours])];
}

/** Runs each policy on the experiment with progress on stderr; `after` may add lines below a policy's row. */
export function runPolicies(
  exp: Experiment,
  names: readonly string[],
  ours: string,
  rates: BacktestCostRates,
  tag: string,
  out: string[],
  after?: (result: BacktestResult) => string | undefined,
  make: (name: string) => BacktestPolicy = createPolicy,
): Map<string, BacktestResult> {
  const results = new Map<string, BacktestResult>();
  for (const name of names) {
    const policy = make(name);
    process.stderr.write(`[${tag}] ${policy.name} …`);
    let lastReport = performance.now();
    const result = runBacktest(exp, policy, {
      onTick: (tick, ticks) => {
        // Progress only on slow runs: a line every 2 s of wall time.
        if (performance.now() - lastReport > 2000) {
          lastReport = performance.now();
          process.stderr.write(` ${tick}/${ticks}`);
        }
      },
    });
    process.stderr.write(` done in ${(result.runtimeMs / 1000).toFixed(2)} s\n`);
    results.set(name, result);
    out.push(tableLine(resultRow(name === ours ? `${result.policy} (ours)` : result.policy, result, rates)));
    const extra = after?.(result);
    if (extra !== undefined) out.push(extra);
  }
  return results;
}

/** The goal against the baseline policy: less energy, SLAV no higher, at most half the migrations. */
export function goalLine(ours: BacktestResult, baseline: BacktestResult, sameRun: string): string {
  const energy = (ours.energyKWh - baseline.energyKWh) / baseline.energyKWh;
  const met = ours.energyKWh < baseline.energyKWh && ours.slav <= baseline.slav && ours.migrations * 2 <= baseline.migrations;
  const ratio = (a: number, b: number): string => (b === 0 ? (a === 0 ? '1.00' : '∞') : (a / b).toFixed(2));
  return `vs ${baseline.policy} (${sameRun}): energy ${energy >= 0 ? '+' : ''}${(energy * 100).toFixed(1)} %, migrations ${ratio(ours.migrations, baseline.migrations)}×, SLAV ${ratio(ours.slav, baseline.slav)}× — goal (less energy, SLAV no higher, ≤ half the migrations) ${met ? 'MET' : 'NOT met'}`;
}
