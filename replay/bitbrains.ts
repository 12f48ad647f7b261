import { basename, join } from 'node:path';
import { NovaError } from '../core/index.ts';
import { listBitbrainsFiles, readBitbrainsFile, type BitbrainsTable } from '../traces/index.ts';

/** One Bitbrains (GWA-T-12) VM file as the replay uses it: its measured rows, in time order, with duplicates merged. */
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

/**
 * A VM's measured rows: a row whose provisioned CPU capacity is 0 is no measurement (VM 14
 * before it starts, VM 20 once it stops reporting) and is dropped; rows with the same timestamp
 * are averaged; usage is clamped to [0, capacity], memory to ≥ 0.
 */
export function measuredRows(table: BitbrainsTable): BitbrainsVmTrace {
  const rows: Array<{ t: number; usage: number; memory: number; n: number }> = [];
  let capacity = 0;
  let cores = 0;
  for (let i = 0; i < table.time.length; i++) {
    const cap = table.capacityMhz[i]!;
    if (cap <= 0) continue;
    capacity = Math.max(capacity, cap);
    cores = Math.max(cores, table.cores[i]!);
    rows.push({ t: table.time[i]!, usage: Math.min(Math.max(table.usageMhz[i]!, 0), cap), memory: Math.max(0, table.memoryKb[i]!), n: 1 });
  }
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
    name: table.name,
    rows: table.time.length,
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

/** Reads every VM file of a month folder (parsed by traces/) as its measured rows. */
export function readBitbrainsFolder(dir: string): BitbrainsVmTrace[] {
  const files = listBitbrainsFiles(dir);
  if (files.length === 0) throw new NovaError('TRACE_MISSING', `no Bitbrains VM files (<id>.csv) in ${dir}; pass --traces DIR (the bitbrains-rnd folder) or set NOVACRON_DATA`);
  return files.map((f) => measuredRows(readBitbrainsFile(join(dir, f), `${basename(dir)}/${f}`)));
}
