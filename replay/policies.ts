import { NovaError } from '../core/index.ts';
import { interQuartileRange, localRegression, medianAbsoluteDeviation, staticThreshold, type OverloadDetector } from './overload.ts';
import { staticPeakFfdPolicy } from './baselines.ts';
import { planPabfd } from './pabfd.ts';
import { plannerPolicy } from './planner-policy.ts';
import { firstFitPlacement, powerAwarePlacement } from './placement.ts';
import type { BacktestPolicy } from './policy.ts';

/** NPA: no power management; every host draws its maximum power all the time. */
export function nonPowerAwarePolicy(): BacktestPolicy {
  return { name: 'NPA', energyModel: 'max-power', placeInitial: firstFitPlacement, plan: () => [] };
}

/** DVFS: power follows CPU utilisation (idle hosts off), VMs never move. */
export function dvfsPolicy(): BacktestPolicy {
  return { name: 'DVFS', energyModel: 'power-model', placeInitial: firstFitPlacement, plan: () => [] };
}

/** A Beloglazov & Buyya policy: an overload detector + MMT selection + PABFD placement, CloudSim 3.0.3 style. */
export function cloudSimPolicy(name: string, detector: OverloadDetector): BacktestPolicy {
  return {
    name,
    energyModel: 'power-model',
    placeInitial: (exp) => powerAwarePlacement(exp, detector.initialThreshold),
    plan: (view) => planPabfd(view, detector),
  };
}

/** Factories of the reference policies by CLI name (lower case). */
export const REFERENCE_POLICIES: Readonly<Record<string, () => BacktestPolicy>> = {
  npa: nonPowerAwarePolicy,
  dvfs: dvfsPolicy,
  'thr-mmt-0.8': () => cloudSimPolicy('THR-MMT 0.8', staticThreshold(0.8)),
  'thr-mmt-1.0': () => cloudSimPolicy('THR-MMT 1.0', staticThreshold(1.0)),
  'iqr-mmt-1.5': () => cloudSimPolicy('IQR-MMT 1.5', interQuartileRange(1.5)),
  'mad-mmt-2.5': () => cloudSimPolicy('MAD-MMT 2.5', medianAbsoluteDeviation(2.5)),
  'lr-mmt-1.2': () => cloudSimPolicy('LR-MMT 1.2', localRegression(1.2)),
};

/** Baselines of the backtest that CloudSim does not have, by CLI name. */
export const BASELINE_POLICIES: Readonly<Record<string, () => BacktestPolicy>> = {
  'static-peak-ffd': staticPeakFfdPolicy,
};

/** Our policies by CLI name. */
export const NOVA_POLICIES: Readonly<Record<string, () => BacktestPolicy>> = {
  novacron: () => plannerPolicy(),
};

/** Every policy the benchmark knows. */
export const ALL_POLICIES: Readonly<Record<string, () => BacktestPolicy>> = { ...REFERENCE_POLICIES, ...BASELINE_POLICIES, ...NOVA_POLICIES };

/** A fresh policy instance by CLI name (one instance per run: policies may keep state). */
export function createPolicy(name: string, registry: Readonly<Record<string, () => BacktestPolicy>> = ALL_POLICIES): BacktestPolicy {
  const factory = registry[name.toLowerCase()];
  if (factory === undefined) {
    throw new NovaError('BACKTEST_POLICY_UNKNOWN', `unknown policy "${name}"; known: ${Object.keys(registry).join(', ')}`);
  }
  return factory();
}
