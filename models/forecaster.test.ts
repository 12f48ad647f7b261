import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Z_95, alphaForHalfLife, ewma, forecastVm, quantile, type VmUsagePoint } from './index.ts';

const MIN = 60_000;
const GIB = 1024 ** 3;
const NOW = Date.UTC(2024, 0, 10, 12, 0);
const meta = { vmId: 'vm-1', hostId: 'h1', vcpus: 4, memTotalBytes: 8 * GIB };

/** Samples every `stepMin` minutes from `minutes` before NOW up to NOW. */
function series(minutes: number, stepMin: number, f: (ts: number, i: number) => { cpu: number; mem: number }): VmUsagePoint[] {
  const out: VmUsagePoint[] = [];
  for (let i = 0, ts = NOW - minutes * MIN; ts <= NOW; i++, ts += stepMin * MIN) {
    const { cpu, mem } = f(ts, i);
    out.push({ ts, cpuCores: cpu, memBytes: mem });
  }
  return out;
}

test('with a season + horizon of history it is seasonal naive: p95 of the same window a day ago', () => {
  const dayAgo = NOW - 1440 * MIN;
  // The hour after NOW − 1 day ramps 0.25 … 3.00 cores; the rest of the day idles at 0.5.
  const history = series(1500, 5, (ts) => {
    const k = (ts - dayAgo) / (5 * MIN);
    const inWindow = k >= 1 && k <= 12;
    return { cpu: inWindow ? k * 0.25 : 0.5, mem: inWindow ? 2 * GIB + k : 1 * GIB };
  });
  const f = forecastVm(history, meta, { horizonMinutes: 60 });
  assert.equal(f.method, 'seasonal-naive');
  // h = 11 × 0.95 = 10.45 → 2.75 + 0.45 × 0.25
  assert.ok(Math.abs(f.p95CpuCores - 2.8625) < 1e-12, String(f.p95CpuCores));
  assert.equal(f.p95MemBytes, Math.ceil(quantile(Array.from({ length: 12 }, (_, i) => 2 * GIB + i + 1), 0.95)));
  assert.equal(f.historyPoints, history.length);
  assert.deepEqual({ vmId: f.vmId, hostId: f.hostId, vcpus: f.vcpus, memTotalBytes: f.memTotalBytes, horizonMinutes: f.horizonMinutes }, { ...meta, horizonMinutes: 60 });
});

test('the step is inferred from timestamps, not assumed to be 5 minutes', () => {
  const dayAgo = NOW - 1440 * MIN;
  const history = series(1500, 1, (ts) => ({ cpu: ts > dayAgo && ts <= dayAgo + 60 * MIN ? 2 : 0.1, mem: GIB }));
  const f = forecastVm(history, meta, { horizonMinutes: 60 });
  assert.equal(f.method, 'seasonal-naive');
  assert.equal(f.p95CpuCores, 2);
});

test('without a full season it is EWMA level + 1.645 EW std', () => {
  const history = series(600, 5, (_, i) => ({ cpu: 1 + (i % 3) * 0.5, mem: 2 * GIB + (i % 2) * 1e6 }));
  const f = forecastVm(history, meta, { horizonMinutes: 60 });
  assert.equal(f.method, 'ewma');
  const alpha = alphaForHalfLife(5 * MIN, 60 * MIN);
  const cpu = ewma(history.map((p) => p.cpuCores), alpha);
  const mem = ewma(history.map((p) => p.memBytes), alpha);
  assert.equal(f.p95CpuCores, cpu.level + Z_95 * Math.sqrt(cpu.variance));
  assert.equal(f.p95MemBytes, Math.ceil(mem.level + Z_95 * Math.sqrt(mem.variance)));
  assert.ok(f.p95CpuCores > cpu.level);

  const flat = forecastVm(series(120, 5, () => ({ cpu: 1.25, mem: GIB })), meta, { horizonMinutes: 60 });
  assert.deepEqual([flat.method, flat.p95CpuCores, flat.p95MemBytes], ['ewma', 1.25, GIB]);
});

test('a season with most of its window missing falls back to EWMA', () => {
  const dayAgo = NOW - 1440 * MIN;
  const history = series(1500, 5, () => ({ cpu: 1, mem: GIB })).filter((p) => p.ts <= dayAgo || p.ts > dayAgo + 40 * MIN);
  assert.equal(forecastVm(history, meta, { horizonMinutes: 60 }).method, 'ewma');
});

test('with fewer than 3 points it is the last value', () => {
  const f = forecastVm([{ ts: NOW - 5 * MIN, cpuCores: 3, memBytes: 3 * GIB }, { ts: NOW, cpuCores: 1.5, memBytes: 2 * GIB }], meta, { horizonMinutes: 60 });
  assert.deepEqual([f.method, f.p95CpuCores, f.p95MemBytes, f.historyPoints], ['last-value', 1.5, 2 * GIB, 2]);
});

test('predictions are clamped to the VM size and to zero', () => {
  const hot = forecastVm(series(120, 5, () => ({ cpu: 9, mem: 20 * GIB })), meta, { horizonMinutes: 60 });
  assert.deepEqual([hot.p95CpuCores, hot.p95MemBytes], [4, 8 * GIB]);
  const odd = forecastVm([{ ts: NOW, cpuCores: -0.5, memBytes: -1 }], meta, { horizonMinutes: 60 });
  assert.deepEqual([odd.p95CpuCores, odd.p95MemBytes], [0, 0]);
});

test('samples after `now` are ignored and samples with missing metrics are skipped', () => {
  const history = [
    { ts: NOW - 10 * MIN, cpuCores: 1, memBytes: GIB },
    { ts: NOW - 5 * MIN, cpuCores: Number.NaN, memBytes: GIB },
    { ts: NOW, cpuCores: 2, memBytes: GIB },
    { ts: NOW + 5 * MIN, cpuCores: 4, memBytes: 4 * GIB },
  ];
  const f = forecastVm(history, meta, { horizonMinutes: 60, now: NOW });
  assert.deepEqual([f.method, f.p95CpuCores, f.historyPoints], ['last-value', 2, 2]);
});

test('it is deterministic and independent of input order', () => {
  const history = series(1500, 5, (_, i) => ({ cpu: ((i * 7919) % 13) / 4, mem: GIB + ((i * 104729) % 17) * 1e6 }));
  const shuffled = [...history].reverse();
  assert.deepEqual(forecastVm(shuffled, meta, { horizonMinutes: 60 }), forecastVm(history, meta, { horizonMinutes: 60 }));
});

test('it rejects an empty history and invalid options with typed errors', () => {
  assert.throws(() => forecastVm([], meta, { horizonMinutes: 60 }), { code: 'MODELS_EMPTY_HISTORY' });
  assert.throws(() => forecastVm([{ ts: NOW, cpuCores: 1, memBytes: 1 }], meta, { horizonMinutes: 0 }), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => forecastVm([{ ts: NOW, cpuCores: 1, memBytes: 1 }], { ...meta, vcpus: Number.NaN }, { horizonMinutes: 60 }), { code: 'MODELS_INVALID_ARGUMENT' });
});
