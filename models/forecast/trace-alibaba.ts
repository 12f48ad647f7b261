import { join } from 'node:path';
import { toGrid, type RegularSeries } from './series.ts';
import { cellNumber, readTraceText } from './trace-io.ts';

/**
 * Alibaba cluster-trace-v2018 `machine_usage.csv` (no header: machine_id, time_stamp s from
 * trace start, cpu_util_percent, mem_util_percent, …), averaged onto the 5-minute grid.
 * These are physical machines, not VMs.
 */
export function readAlibabaMachineUsage(path: string): RegularSeries[] {
  const byMachine = new Map<string, { t: number[]; cpu: number[]; mem: number[] }>();
  for (const line of readTraceText(path).split(/\r?\n/)) {
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
  const out: RegularSeries[] = [];
  for (const id of [...byMachine.keys()].sort()) {
    const m = byMachine.get(id)!;
    const order = m.t.map((_, i) => i).sort((a, b) => m.t[a]! - m.t[b]!);
    const t = order.map((i) => m.t[i]!);
    const cpu = toGrid(t, order.map((i) => m.cpu[i]!));
    const mem = toGrid(t, order.map((i) => m.mem[i]!));
    const entity = `alibaba/${id}`;
    out.push({ id: `alibaba/${id}/cpu`, entity, group: 'alibaba/cpu', startSec: cpu.startSec, absoluteTime: false, values: cpu.values });
    out.push({ id: `alibaba/${id}/mem`, entity, group: 'alibaba/mem', startSec: mem.startSec, absoluteTime: false, values: mem.values });
  }
  return out;
}

/** The Alibaba folder: its `machine_usage.csv`. */
export function readAlibaba(dir: string): RegularSeries[] {
  return readAlibabaMachineUsage(join(dir, 'machine_usage.csv'));
}

// The schema marks -1 and 101 as invalid readings.
function validPercent(v: number): number {
  return v >= 0 && v <= 100 ? v : Number.NaN;
}
