import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NovaError } from '../core/index.ts';

/** One Bitbrains (GWA-T-12) VM file: its measured rows, in time order, with duplicates merged. */
export interface BitbrainsVmTrace {
  readonly name: string;
  /** Rows in the file (measured or not). */
  readonly rows: number;
  /** Unix seconds of each measured row (rows whose CPU capacity is 0 carry no measurement). */
  readonly time: Float64Array;
  /** CPU usage of each measured row, MHz. */
  readonly usageMhz: Float64Array;
  /** Actively used memory of each measured row, KB. */
  readonly memoryKb: Float64Array;
  /** Largest provisioned CPU capacity over the measured rows, MHz. */
  readonly capacityMhz: number;
  readonly cores: number;
}

const COLUMNS = {
  time: 'Timestamp [ms]',
  cores: 'CPU cores',
  capacity: 'CPU capacity provisioned [MHZ]',
  usage: 'CPU usage [MHZ]',
  memory: 'Memory usage [KB]',
} as const;

/**
 * Parses one Bitbrains CSV (`;` + TAB separated, header naming the columns). The "[ms]"
 * timestamp is in fact Unix seconds (SOURCE.md); values above 1e11 are read as milliseconds so
 * a corrected copy works too. A row whose provisioned CPU capacity is 0 is no measurement (VM 14
 * before it starts, VM 20 once it stops reporting) and is dropped; rows with the same timestamp
 * are averaged; usage is clamped to [0, capacity].
 */
export function parseBitbrainsCsv(text: string, name: string): BitbrainsVmTrace {
  const lines = text.split('\n');
  const header = (lines[0] ?? '').split(';').map((c) => c.trim());
  const col = (title: string): number => {
    const i = header.indexOf(title);
    if (i < 0) throw new NovaError('BACKTEST_TRACE_INVALID', `Bitbrains file ${name}: no column "${title}" in its header; expected the GWA-T-12 format (see traces/bitbrains-rnd/SOURCE.md)`);
    return i;
  };
  const at = { time: col(COLUMNS.time), cores: col(COLUMNS.cores), capacity: col(COLUMNS.capacity), usage: col(COLUMNS.usage), memory: col(COLUMNS.memory) };
  const rows: Array<{ t: number; usage: number; memory: number; n: number }> = [];
  let capacity = 0;
  let cores = 0;
  let count = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    count++;
    const f = line.split(';');
    const num = (j: number, what: string): number => {
      const x = Number((f[j] ?? '').trim());
      if (!Number.isFinite(x) || (f[j] ?? '').trim() === '') throw new NovaError('BACKTEST_TRACE_INVALID', `Bitbrains file ${name} line ${i + 1}: ${what} is ${JSON.stringify((f[j] ?? '').trim())}, expected a number`);
      return x;
    };
    let t = num(at.time, 'the timestamp');
    if (t > 1e11) t /= 1000;
    const cap = num(at.capacity, 'the CPU capacity');
    if (cap <= 0) continue;
    const usage = Math.min(Math.max(num(at.usage, 'the CPU usage'), 0), cap);
    capacity = Math.max(capacity, cap);
    cores = Math.max(cores, num(at.cores, 'the core count'));
    rows.push({ t, usage, memory: Math.max(0, num(at.memory, 'the memory usage')), n: 1 });
  }
  rows.sort((a, b) => a.t - b.t);
  const merged: typeof rows = [];
  for (const r of rows) {
    const last = merged.at(-1);
    if (last !== undefined && last.t === r.t) {
      last.usage = (last.usage * last.n + r.usage) / (last.n + 1);
      last.memory = (last.memory * last.n + r.memory) / (last.n + 1);
      last.n++;
    } else merged.push({ ...r });
  }
  return {
    name,
    rows: count,
    time: Float64Array.from(merged, (r) => r.t),
    usageMhz: Float64Array.from(merged, (r) => r.usage),
    memoryKb: Float64Array.from(merged, (r) => r.memory),
    capacityMhz: capacity,
    cores,
  };
}

/** A VM's usage on a regular grid, and how much of it was filled in rather than measured. */
export interface ResampledUsage {
  /** MHz at start + k·step, k = 0..samples−1; 0 where the VM does not exist. */
  readonly usageMhz: Float64Array;
  /** Grid points farther than `gapSeconds` from every measurement, but inside the VM's life (interpolated across a gap). */
  readonly imputed: number;
  /** Grid points after the VM's last measurement (it has left). */
  readonly absent: number;
}

/** Usage below this (MHz) is raised to it while the VM exists: see `resampleUsage`. */
export const BITBRAINS_MIN_USAGE_MHZ = 1;

/**
 * Puts a VM's measurements on a regular grid by linear interpolation between the measurements
 * around each point (this absorbs 299/301 s jitter and VM 20's irregular sampling). Across a gap
 * (most VMs lose ~31 h of monitoring on 2013-07-16/17) the line joins the last value before and
 * the first after: the VM kept running, only the monitoring stopped. Within one step of either
 * end the nearest measurement is held; beyond the last one the VM has left (0, which the
 * simulator's zero-demand rule turns into a departure). While the VM exists its usage is at
 * least 1 MHz: Bitbrains rounds idle VMs to 0 MHz, and exactly 0 would make CloudSim's rule
 * delete a VM that is still running.
 */
export function resampleUsage(vm: BitbrainsVmTrace, start: number, step: number, samples: number, gapSeconds = 2 * step): ResampledUsage {
  const out = new Float64Array(samples);
  const { time, usageMhz } = vm;
  const n = time.length;
  let imputed = 0;
  let absent = 0;
  let j = 0;
  for (let k = 0; k < samples; k++) {
    const t = start + k * step;
    if (n === 0 || t < time[0]! - step) continue;
    if (t > time[n - 1]! + step) {
      absent++;
      continue;
    }
    while (j + 1 < n && time[j + 1]! <= t) j++;
    let u: number;
    if (t <= time[0]!) u = usageMhz[0]!;
    else if (j + 1 >= n) u = usageMhz[n - 1]!;
    else {
      const t0 = time[j]!;
      const t1 = time[j + 1]!;
      u = usageMhz[j]! + ((usageMhz[j + 1]! - usageMhz[j]!) * (t - t0)) / (t1 - t0);
      if (Math.min(t - t0, t1 - t) > gapSeconds) imputed++;
    }
    out[k] = Math.max(u, BITBRAINS_MIN_USAGE_MHZ);
  }
  return { usageMhz: out, imputed, absent };
}

/** The trace files of a Bitbrains month folder, VM ids in numeric order (1.csv, 2.csv, …, 35.csv). */
export function listBitbrainsFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (cause) {
    throw new NovaError('BACKTEST_TRACE_MISSING', `cannot read the Bitbrains folder ${dir}; pass --traces DIR (the bitbrains-rnd folder) or set NOVACRON_DATA`, { cause });
  }
  const files = entries.filter((f) => f.endsWith('.csv') && /^\d+\.csv$/.test(f) && statSync(join(dir, f)).isFile());
  return files.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
}

/** Reads every VM file of a month folder. */
export function readBitbrainsFolder(dir: string): BitbrainsVmTrace[] {
  const files = listBitbrainsFiles(dir);
  if (files.length === 0) throw new NovaError('BACKTEST_TRACE_MISSING', `no Bitbrains VM files (<id>.csv) in ${dir}`);
  return files.map((f) => parseBitbrainsCsv(readFileSync(join(dir, f), 'utf8'), `${basename(dir)}/${f}`));
}
