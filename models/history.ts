import { NovaError, questdbTable, type Config, type QuestDbClient } from '../core/index.ts';
import type { VmMeta, VmUsagePoint } from './forecaster.ts';

/** Usage series of one VM, oldest first, with the meta of its latest sample. */
export interface VmHistory extends VmMeta {
  points: VmUsagePoint[];
}

/** Options of loadVmHistory. */
export interface HistoryOptions {
  lookbackMinutes: number;
  /** End of the window (ms, inclusive); now by default. */
  until?: number;
}

interface VmSampleRow {
  vm_id: string;
  host_id: string | null;
  ts_us: string;
  cpu_used_cores: number | null;
  vcpus: number | null;
  mem_used_bytes: string | null;
  mem_total_bytes: string | null;
}

/**
 * Reads every VM's samples in (until − lookback, until] with one query and splits them per VM
 * (sorted by vmId). VMs without a usable sample or without a known size are left out.
 */
export async function loadVmHistory(questdb: QuestDbClient, config: Config, opts: HistoryOptions): Promise<VmHistory[]> {
  if (!(Number.isFinite(opts.lookbackMinutes) && opts.lookbackMinutes > 0)) {
    throw new NovaError('MODELS_INVALID_ARGUMENT', `lookbackMinutes must be positive, got ${opts.lookbackMinutes}`);
  }
  const until = opts.until ?? Date.now();
  const from = until - opts.lookbackMinutes * 60_000;
  const table = questdbTable(config, 'vm_samples');
  // Timestamps travel as epoch microseconds: a TIMESTAMP over PG wire is read back as local
  // time by the pg driver, which would shift every sample by the process's UTC offset.
  const rows = await questdb.query<VmSampleRow>(
    `SELECT vm_id, host_id, cast(ts AS LONG) ts_us, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes
     FROM ${table}
     WHERE ts > cast($1 AS TIMESTAMP) AND ts <= cast($2 AS TIMESTAMP)
     ORDER BY vm_id, ts`,
    [micros(from), micros(until)],
  );

  const byVm = new Map<string, { meta: Partial<VmMeta>; points: VmUsagePoint[]; lastTs: number }>();
  for (const row of rows) {
    const ts = Math.floor(Number(row.ts_us) / 1000);
    let entry = byVm.get(row.vm_id);
    if (!entry) {
      entry = { meta: { vmId: row.vm_id }, points: [], lastTs: -Infinity };
      byVm.set(row.vm_id, entry);
    }
    // Meta comes from the newest sample that carries it (rows may arrive out of order within a VM).
    if (ts >= entry.lastTs) {
      entry.lastTs = ts;
      if (row.host_id !== null) entry.meta.hostId = row.host_id;
      if (row.vcpus !== null) entry.meta.vcpus = row.vcpus;
      if (row.mem_total_bytes !== null) entry.meta.memTotalBytes = Number(row.mem_total_bytes);
    }
    if (row.cpu_used_cores !== null && row.mem_used_bytes !== null) {
      entry.points.push({ ts, cpuCores: row.cpu_used_cores, memBytes: Number(row.mem_used_bytes) });
    }
  }

  const out: VmHistory[] = [];
  for (const [vmId, { meta, points }] of byVm) {
    if (points.length === 0 || meta.hostId === undefined || meta.vcpus === undefined || meta.memTotalBytes === undefined) continue;
    points.sort((a, b) => a.ts - b.ts);
    out.push({ vmId, hostId: meta.hostId, vcpus: meta.vcpus, memTotalBytes: meta.memTotalBytes, points });
  }
  return out.sort((a, b) => compareIds(a.vmId, b.vmId));
}

// Code-unit order, independent of locale, so every process sorts ids the same way.
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function micros(ms: number): string {
  return (BigInt(Math.trunc(ms)) * 1000n).toString();
}

/** A VM's usage in fixed steps, oldest first: CPU in cores, memory used in bytes. */
export interface UsageSteps {
  cpu: number[];
  mem: number[];
}

/**
 * A VM's usage as the planner reads it: the mean of its samples in each of the `count` steps
 * ending at `until` (oldest first). A step without samples repeats the step before (a gap in
 * telemetry is not a drop to zero); steps before the first sample are left out.
 */
export function usageSteps(points: readonly VmUsagePoint[], until: number, stepMs: number, count: number): UsageSteps {
  const cpu = new Float64Array(count);
  const mem = new Float64Array(count);
  const n = new Int32Array(count);
  const start = until - count * stepMs;
  for (const p of points) {
    if (p.ts <= start || p.ts > until) continue;
    const i = Math.min(count - 1, Math.floor((p.ts - start - 1) / stepMs));
    cpu[i] = cpu[i]! + p.cpuCores;
    mem[i] = mem[i]! + p.memBytes;
    n[i] = n[i]! + 1;
  }
  const out: UsageSteps = { cpu: [], mem: [] };
  let last: [number, number] | undefined;
  for (let i = 0; i < count; i++) {
    if (n[i]! > 0) last = [cpu[i]! / n[i]!, mem[i]! / n[i]!];
    if (last !== undefined) {
      out.cpu.push(last[0]);
      out.mem.push(last[1]);
    }
  }
  return out;
}

/** CPU (cores) host `hostId` used in its latest sample of the last `maxAgeMs` before `now`, or undefined when it has none. */
export async function latestHostCpu(questdb: QuestDbClient, config: Config, hostId: string, now: number, maxAgeMs: number): Promise<number | undefined> {
  const table = questdbTable(config, 'host_samples');
  const rows = await questdb.query<{ cpu_used_cores: number | null }>(
    `SELECT cpu_used_cores FROM ${table} WHERE host_id = $1 AND ts > cast($2 AS TIMESTAMP) AND ts <= cast($3 AS TIMESTAMP) LATEST ON ts PARTITION BY host_id`,
    [hostId, micros(now - maxAgeMs), micros(now)],
  );
  const cpu = rows[0]?.cpu_used_cores;
  return cpu === null || cpu === undefined ? undefined : cpu;
}
