import { probit } from 'simple-statistics';
import { NovaError } from '../core/index.ts';
import type { ClusterTargets, ConsolidationPolicy } from './types.ts';

/** A policy with every optional field resolved to its value (internal to the planner). */
export interface ResolvedPolicy {
  cpuTargetUtilization: number;
  memTargetUtilization: number;
  clusters: ReadonlyMap<string, Required<ClusterTargets>>;
  cpuQuantile: string;
  /** Standard-normal quantile of cpuQuantile and of reliefQuantile. */
  z: number;
  reliefQuantile: string;
  reliefZ: number;
  underloadUtilization: number;
  settleMs: number;
  maxMigrationsPerPlan: number;
  maxConcurrentMigrations: number;
  maxMigrationsPerHour: number;
  hysteresisMs: number;
  bandwidth: number;
  maxMigrationSeconds: number;
  hostIdleWatts: number;
  hostMaxWatts: number;
  degradationWatts: number;
  horizonHours: number;
}

/** Values the optional policy fields take when absent. */
export const POLICY_DEFAULTS = Object.freeze({
  cpuQuantile: 'p90',
  reliefQuantile: 'p50',
  underloadUtilization: 0.75,
  settleMinutes: 30,
  hysteresisMinutes: 60,
  migrationBandwidthBytesPerSec: 1.25e9,
  maxMigrationSeconds: 300,
  hostIdleWatts: 150,
  hostMaxWatts: 400,
  degradationWatts: 400,
  horizonHours: 1,
});

/** Validates a policy and fills in the defaults of its optional fields; throws SCHEDULER_INVALID_POLICY. */
export function resolvePolicy(policy: ConsolidationPolicy): ResolvedPolicy {
  const bad = (name: string, want: string, value: unknown): never => {
    throw new NovaError('SCHEDULER_INVALID_POLICY', `policy.${name} must be ${want}, got ${String(value)}`);
  };
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!(Number.isFinite(v) && v > 0)) bad(name, 'a positive number (e.g. 0.8)', v);
    return v;
  };
  const nonNegative = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!(Number.isFinite(v) && v >= 0)) bad(name, 'a non-negative number', v);
    return v;
  };
  // Budgets: a whole number of migrations, or absent for no limit.
  const count = (name: string, value: number | undefined, min: number): number => {
    if (value === undefined) return Infinity;
    if (!(Number.isInteger(value) && value >= min)) bad(name, `an integer ≥ ${min} (or absent for no limit)`, value);
    return value;
  };

  const cpu = positive('cpuTargetUtilization', policy.cpuTargetUtilization, NaN);
  const mem = positive('memTargetUtilization', policy.memTargetUtilization, NaN);
  const clusters = new Map<string, Required<ClusterTargets>>();
  for (const [name, t] of Object.entries(policy.clusters ?? {})) {
    clusters.set(name, {
      cpuTargetUtilization: positive(`clusters.${name}.cpuTargetUtilization`, t.cpuTargetUtilization, cpu),
      memTargetUtilization: positive(`clusters.${name}.memTargetUtilization`, t.memTargetUtilization, mem),
    });
  }
  const quantileKey = (name: 'cpuQuantile' | 'reliefQuantile'): [string, number] => {
    const key = policy[name] ?? POLICY_DEFAULTS[name];
    const q = quantileOf(key);
    if (q === undefined || q <= 0 || q >= 1) bad(name, "a quantile key between p1 and p99.9, like 'p90'", key);
    return [key, q === 0.5 ? 0 : probit(q!)];
  };
  const [quantile, z] = quantileKey('cpuQuantile');
  const [reliefQuantile, reliefZ] = quantileKey('reliefQuantile');
  const underload = nonNegative('underloadUtilization', policy.underloadUtilization, POLICY_DEFAULTS.underloadUtilization);
  const idle = nonNegative('hostIdleWatts', policy.hostIdleWatts, POLICY_DEFAULTS.hostIdleWatts);
  const max = nonNegative('hostMaxWatts', policy.hostMaxWatts, POLICY_DEFAULTS.hostMaxWatts);
  if (max < idle) bad('hostMaxWatts', `at least hostIdleWatts (${idle})`, max);
  return {
    cpuTargetUtilization: cpu,
    memTargetUtilization: mem,
    clusters,
    cpuQuantile: quantile,
    z,
    reliefQuantile,
    reliefZ,
    underloadUtilization: underload,
    settleMs: nonNegative('settleMinutes', policy.settleMinutes, POLICY_DEFAULTS.settleMinutes) * 60_000,
    maxMigrationsPerPlan: count('maxMigrationsPerPlan', policy.maxMigrationsPerPlan, 0),
    maxConcurrentMigrations: count('maxConcurrentMigrations', policy.maxConcurrentMigrations, 1),
    maxMigrationsPerHour: count('maxMigrationsPerHour', policy.maxMigrationsPerHour, 0),
    hysteresisMs: nonNegative('hysteresisMinutes', policy.hysteresisMinutes, POLICY_DEFAULTS.hysteresisMinutes) * 60_000,
    bandwidth: positive('migrationBandwidthBytesPerSec', policy.migrationBandwidthBytesPerSec, POLICY_DEFAULTS.migrationBandwidthBytesPerSec),
    maxMigrationSeconds: positive('maxMigrationSeconds', policy.maxMigrationSeconds, POLICY_DEFAULTS.maxMigrationSeconds),
    hostIdleWatts: idle,
    hostMaxWatts: max,
    degradationWatts: nonNegative('degradationWatts', policy.degradationWatts, POLICY_DEFAULTS.degradationWatts),
    horizonHours: nonNegative('horizonHours', policy.horizonHours, POLICY_DEFAULTS.horizonHours),
  };
}

/** The quantile a key like 'p95' names (0.95), or undefined when it names none. */
export function quantileOf(key: string): number | undefined {
  const m = /^p(\d{1,2}(?:\.\d+)?|100)$/.exec(key);
  return m ? Number(m[1]) / 100 : undefined;
}

/** Targets of a cluster (the policy's own for hosts without a cluster, or clusters it does not list). */
export function clusterTargets(policy: ResolvedPolicy, cluster: string | undefined): { cpu: number; mem: number } {
  const t = cluster === undefined ? undefined : policy.clusters.get(cluster);
  return { cpu: t?.cpuTargetUtilization ?? policy.cpuTargetUtilization, mem: t?.memTargetUtilization ?? policy.memTargetUtilization };
}

/**
 * A stated forecast at the policy's quantile: its own figure for that key; else, so the plan never
 * under-reserves, the smallest figure at a higher quantile; else the highest figure given (cpuCores
 * included). Without quantiles the demand is cpuCores at every quantile.
 */
export function cpuAtQuantile(cpuCores: number, quantiles: Readonly<Record<string, number>> | undefined, key: string): number {
  if (quantiles === undefined) return cpuCores;
  const exact = quantiles[key];
  if (exact !== undefined) return exact;
  const want = quantileOf(key)!;
  let above = Infinity;
  let highest = cpuCores;
  for (const [k, v] of Object.entries(quantiles)) {
    const q = quantileOf(k);
    if (q === undefined) continue;
    if (q >= want && v < above) above = v;
    if (v > highest) highest = v;
  }
  return Number.isFinite(above) ? above : highest;
}
