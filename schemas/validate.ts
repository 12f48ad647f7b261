import { SampleError } from './codec.ts';
import type { HostSample, Sample, VmSample } from './types.ts';

export interface ValidationLimits {
  /** Samples further than this in the future (ms) are rejected: a clock is wrong. */
  maxFutureMs: number;
  /** Samples older than this (ms) are rejected: QuestDB would file them far back in history. */
  maxAgeMs: number;
  /** Allowed overshoot of used over capacity (counters are sampled, not exact). */
  capacitySlack: number;
  /** Most cores a host or VM can have: beyond it the number is a unit or encoding error. */
  maxCores: number;
  /** Most memory a host or VM can have, bytes. */
  maxMemBytes: number;
  /** Fastest disk or network rate a sample may report, bytes/s. */
  maxRateBps: number;
}

export const DEFAULT_LIMITS: ValidationLimits = Object.freeze({
  maxFutureMs: 5 * 60_000,
  maxAgeMs: 400 * 24 * 3_600_000,
  capacitySlack: 1.05,
  // Far above any machine sold today (KVM allows 4096 vCPUs; the largest hosts hold tens of TiB;
  // 1 TB/s is beyond any NIC or disk array), yet small enough that sums over a fleet stay exact.
  maxCores: 4096,
  maxMemBytes: 2 ** 50,
  maxRateBps: 1e12,
});

function fail(field: string, why: string): never {
  throw new SampleError('SAMPLE_INVALID_FIELD', `${field} ${why}`, field);
}

function finiteNonNegative(field: string, v: number): void {
  // One comparison chain for the valid case (false for NaN, strings, ±Infinity, negatives):
  // validation runs ~10 times a sample, and this was a third of its time with Number.isFinite first.
  if (typeof v === 'number' && v >= 0 && v !== Infinity) return;
  if (!Number.isFinite(v)) fail(field, `must be a finite number, got ${v}`);
  fail(field, `must be >= 0, got ${v}`);
}

function identifier(field: string, v: string): void {
  if (v.length === 0 || v.length > 128) fail(field, 'must be 1-128 characters');
  if (ID_FORBIDDEN.test(v)) fail(field, 'must not contain control characters, commas, quotes or backslashes');
}

function atMost(field: string, v: number, max: number, unit: string): void {
  if (v > max) fail(field, `must be <= ${max} ${unit}, got ${v}`);
}

function percent(field: string, v: number): void {
  finiteNonNegative(field, v);
  if (v > 100) fail(field, `must be <= 100, got ${v}`);
}

// Hoisted: validation runs once per sample on the worker's hot path.
const ID_FORBIDDEN = /[\u0000-\u001f,\\"]/;

function common(s: HostSample | VmSample, now: number, limits: ValidationLimits, capacity: number, capacityField: string): void {
  if (!Number.isSafeInteger(s.ts) || s.ts <= 0) fail('ts', `must be a positive ms timestamp, got ${s.ts}`);
  if (s.ts > now + limits.maxFutureMs) fail('ts', `is ${Math.round((s.ts - now) / 1000)} s in the future`);
  if (s.ts < now - limits.maxAgeMs) fail('ts', `is older than ${Math.round(limits.maxAgeMs / 86_400_000)} days`);
  identifier('hostId', s.hostId);
  finiteNonNegative(capacityField, capacity);
  if (capacity === 0) fail(capacityField, 'must be > 0');
  atMost(capacityField, capacity, limits.maxCores, 'cores');
  finiteNonNegative('cpuUsedCores', s.cpuUsedCores);
  if (s.cpuUsedCores > capacity * limits.capacitySlack) fail('cpuUsedCores', `(${s.cpuUsedCores}) exceeds ${capacityField} (${capacity})`);
  finiteNonNegative('memTotalBytes', s.memTotalBytes);
  if (s.memTotalBytes === 0) fail('memTotalBytes', 'must be > 0');
  atMost('memTotalBytes', s.memTotalBytes, limits.maxMemBytes, 'bytes');
  finiteNonNegative('memUsedBytes', s.memUsedBytes);
  if (s.memUsedBytes > s.memTotalBytes * limits.capacitySlack) fail('memUsedBytes', `(${s.memUsedBytes}) exceeds memTotalBytes (${s.memTotalBytes})`);
  // Written out, not a loop over the names: `s[name]` over two sample shapes was a slow keyed load.
  rate('diskReadBps', s.diskReadBps, limits);
  rate('diskWriteBps', s.diskWriteBps, limits);
  rate('netRxBps', s.netRxBps, limits);
  rate('netTxBps', s.netTxBps, limits);
}

function rate(field: 'diskReadBps' | 'diskWriteBps' | 'netRxBps' | 'netTxBps', v: number, limits: ValidationLimits): void {
  finiteNonNegative(field, v);
  atMost(field, v, limits.maxRateBps, 'bytes/s');
}

/** Checks a decoded sample's values; throws SampleError naming the first bad field. */
export function validateSample(sample: Sample, now: number = Date.now(), limits: ValidationLimits = DEFAULT_LIMITS): void {
  if (sample.kind === 'host') {
    const s = sample.sample;
    common(s, now, limits, s.cpuCapacityCores, 'cpuCapacityCores');
    percent('cpuStealPct', s.cpuStealPct);
  } else {
    const s = sample.sample;
    common(s, now, limits, s.vcpus, 'vcpus');
    identifier('vmId', s.vmId);
    percent('vcpuDelayPct', s.vcpuDelayPct);
  }
}
