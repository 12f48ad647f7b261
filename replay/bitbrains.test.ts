import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../core/index.ts';
import { bitbrainsReplay, loadBitbrainsReplay } from './bitbrains-experiment.ts';
import { parseBitbrainsCsv } from '../traces/index.ts';
import { BITBRAINS_MIN_USAGE_MHZ, measuredRows, resampleUsage } from './bitbrains.ts';
import { energyLowerBound } from './lower-bound.ts';
import { createPolicy } from './policies.ts';
import { runBacktest } from './simulator.ts';

const HEADER = 'Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]';
const T0 = 1372629804;

/** A Bitbrains-format file: rows of [seconds after T0, capacity MHz, usage MHz, memory KB]. */
function csv(rows: Array<[number, number, number, number]>, cores = 2): string {
  const lines = rows.map(([dt, cap, use, mem]) => [T0 + dt, cap > 0 ? cores : 0, cap, use, cap > 0 ? (use / cap) * 100 : 0, 8_000_000, mem, 0, 0, 0, 0].join(';\t'));
  return `${[HEADER, ...lines].join('\n')}\n`;
}

/** A file's measured rows, as the replay reads them. */
const measured = (text: string, name: string) => measuredRows(parseBitbrainsCsv(text, name));

test('a Bitbrains file: rows without capacity dropped, duplicates averaged, usage clamped', () => {
  const text = csv([[0, 0, 0, 0], [300, 5852, 100, 1024], [600, 5852, 200, 2048], [600, 5852, 400, 4096], [900, 5852, 9999, 1024]]);
  const vm = measured(text, 'x.csv');
  assert.equal(vm.rows, 5);
  assert.deepEqual([...vm.time], [T0 + 300, T0 + 600, T0 + 900]);
  assert.deepEqual([...vm.usageMhz], [100, 300, 5852]);
  assert.deepEqual([...vm.memoryKb], [1024, 3072, 1024]);
  assert.equal(vm.capacityMhz, 5852);
  assert.equal(vm.cores, 2);
  // Rows out of time order are measured in time order.
  const shuffled = measured(csv([[600, 5852, 200, 2048], [300, 5852, 100, 1024]]), 's.csv');
  assert.deepEqual([...shuffled.time], [T0 + 300, T0 + 600]);
});

test('resampling: linear between measurements and across gaps, the ends held one step, absent after the last, floored at 1 MHz', () => {
  const vm = measured(csv([[0, 2600, 100, 1], [299, 2600, 0, 1], [1800, 2600, 300, 1], [2100, 2600, 300, 1]]), 'g.csv');
  const r = resampleUsage(vm, T0, 300, 10);
  const u = [...r.usageMhz];
  assert.equal(u[0], 100);
  // t = 600: between 299 s (0 MHz) and 1800 s (300 MHz), 301/1501 of the way.
  assert.ok(Math.abs(u[2]! - (300 * 301) / 1501) < 1e-9);
  // t = 300 is 0.2 MHz, raised to the floor so CloudSim's zero-demand rule does not delete a running VM.
  assert.equal(u[1], BITBRAINS_MIN_USAGE_MHZ);
  // Only 900 s is more than two steps (600 s) from both ends of the 299 → 1800 s gap.
  assert.equal(r.imputed, 1);
  // Last measurement at 2100 s: 2400 s is held (one step), 2700 s is after the VM left.
  assert.equal(u[8], 300);
  assert.equal(u[9], 0);
  assert.equal(r.absent, 1);
});

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'bitbrains-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** `n` points every 300 s with usage f(k) MHz. */
const series = (n: number, cap: number, f: (k: number) => number, mem = 512 * 1024): Array<[number, number, number, number]> => Array.from({ length: n }, (_, k) => [k * 300, cap, f(k), mem]);

test('a Bitbrains folder becomes an experiment: numeric file order, late VMs skipped, VMs sized from capacity, --days honoured', () => {
  const dir = folder({
    '2.csv': csv(series(600, 2600, (k) => 500 + 400 * Math.sin(k / 10))),
    '10.csv': csv(series(600, 86_400, (k) => 3000 + (k % 7) * 100), 32),
    '1.csv': csv(series(600, 5852, (k) => (k % 3 === 0 ? 0 : 1200))),
    '3.csv': csv(series(600, 2600, () => 50).map(([dt, c, u, m]) => [dt + 3000, c, u, m])),
    'notes.md': 'not a VM',
  });
  try {
    const replay = loadBitbrainsReplay(dir, { days: 1 });
    const exp = replay.experiment;
    assert.equal(replay.samples, 288);
    assert.equal(exp.ticks, 287);
    assert.deepEqual(replay.vms.map((v) => v.name.split('/').at(-1)), ['1.csv', '2.csv', '10.csv']);
    assert.equal(replay.skipped.length, 1);
    assert.match(replay.skipped[0]!.reason, /after the replay start/);
    assert.equal(exp.hostCount, 4, 'one host per file');
    assert.deepEqual([...exp.vmMips], [5852, 2600, 12 * 2933], 'capacity, capped at the smallest host');
    assert.equal(exp.vmRamMb[0], 512);
    // Utilisation is usage over the VM's MIPS, so requested MIPS is the measured MHz.
    assert.ok(Math.abs(exp.workload.utilization[1]![0]! * exp.vmMips[1]! - 500) < 1e-9);
    assert.throws(() => loadBitbrainsReplay(dir, { days: 0 }), (e) => hasCode(e, 'BACKTEST_OPTION_INVALID'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => loadBitbrainsReplay(join(tmpdir(), 'no-such-bitbrains-folder')), (e) => hasCode(e, 'TRACE_MISSING'));
});

test('every policy, the baselines and the lower bound run on a Bitbrains replay, deterministically', () => {
  let s = 42;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const traces = Array.from({ length: 12 }, (_, i) => {
    const cap = [2600, 5852, 11_704, 20_800][i % 4]!;
    let x = rand() * 0.3;
    return measured(csv(series(400, cap, () => (x = Math.min(1, Math.max(0, x + (rand() - 0.5) * 0.2))) * cap)), `${i + 1}.csv`);
  });
  const replay = bitbrainsReplay(traces, 'synthetic');
  const exp = replay.experiment;
  const lb = energyLowerBound(exp);
  for (const name of ['dvfs', 'static-peak-ffd', 'thr-mmt-0.8', 'lr-mmt-1.2', 'novacron']) {
    const a = runBacktest(exp, createPolicy(name));
    const b = runBacktest(bitbrainsReplay(traces, 'synthetic').experiment, createPolicy(name));
    const { runtimeMs: _a, ...ra } = a;
    const { runtimeMs: _b, ...rb } = b;
    assert.deepEqual(ra, rb, `${a.policy} is deterministic`);
    assert.equal(a.unplacedVms, 0, `${a.policy} placed every VM`);
    assert.ok(lb.energyKWh <= a.energyKWh, `${a.policy}: ${a.energyKWh} kWh ≥ bound ${lb.energyKWh}`);
  }
  assert.deepEqual(energyLowerBound(exp).energyKWh, lb.energyKWh);
});

test('a VM whose migration would outlast an interval is refused, not mis-simulated', () => {
  // 20 GiB of active memory at 62.5 MB/s is ~328 s, longer than the 300 s interval.
  const big = measured(csv(series(10, 2600, () => 100, 20 * 1024 * 1024)), '1.csv');
  assert.throws(() => bitbrainsReplay([big], 'synthetic'), (e) => hasCode(e, 'BACKTEST_TRACE_INVALID') && /longer than the 300 s interval/.test(e.message));
});
