import { cellNumber, readTraceText } from './io.ts';

/** One machine's readings from Alibaba's `machine_usage.csv`, in time order. */
export interface AlibabaMachineUsage {
  readonly machine: string;
  /** Seconds since the trace start. */
  readonly time: Float64Array;
  /** CPU and memory use, %; NaN where the trace marks the reading invalid (-1, 101) or it is blank. */
  readonly cpuPercent: Float64Array;
  readonly memPercent: Float64Array;
}

/**
 * Parses Alibaba cluster-trace-v2018 `machine_usage.csv` (no header: machine_id, time_stamp s
 * from trace start, cpu_util_percent, mem_util_percent, …) into one entry per machine, machines
 * in code-unit order. Rows without a machine id or a time are skipped. These are physical
 * machines, not VMs.
 */
export function parseAlibabaMachineUsage(text: string): AlibabaMachineUsage[] {
  const byMachine = new Map<string, { t: number[]; cpu: number[]; mem: number[] }>();
  for (const line of text.split(/\r?\n/)) {
    const cells = line.split(',');
    const id = cells[0]?.trim();
    const t = cellNumber(cells[1]);
    if (!id || !Number.isFinite(t)) continue;
    let m = byMachine.get(id);
    if (!m) byMachine.set(id, (m = { t: [], cpu: [], mem: [] }));
    m.t.push(t);
    m.cpu.push(validPercent(cellNumber(cells[2])));
    m.mem.push(validPercent(cellNumber(cells[3])));
  }
  return [...byMachine.keys()].sort().map((machine) => {
    const m = byMachine.get(machine)!;
    const order = m.t.map((_, i) => i).sort((a, b) => m.t[a]! - m.t[b]!);
    const pick = (xs: number[]) => Float64Array.from(order, (i) => xs[i]!);
    return { machine, time: pick(m.t), cpuPercent: pick(m.cpu), memPercent: pick(m.mem) };
  });
}

/** Reads and parses a `machine_usage.csv`. */
export function readAlibabaMachineUsage(path: string): AlibabaMachineUsage[] {
  return parseAlibabaMachineUsage(readTraceText(path));
}

// The schema marks -1 and 101 as invalid readings.
function validPercent(v: number): number {
  return v >= 0 && v <= 100 ? v : Number.NaN;
}
