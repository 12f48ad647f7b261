import { join } from 'node:path';
import { NovaError } from '../../core/index.ts';
import { toGrid, type RegularSeries } from './series.ts';
import { cellNumber, isDir, listSorted, readTraceText } from './trace-io.ts';

const VM_FILE = /^(\d+)\.csv$/;

/**
 * One Bitbrains GWA-T-12 VM file (`;\t`-separated, header row): CPU usage [%] and memory usage
 * [KB], averaged onto the 5-minute grid. The header says "[ms]" but the values are Unix seconds;
 * values above 1e11 are taken as milliseconds so either spelling reads right.
 */
export function readBitbrainsVm(path: string, vm: string, month: string): RegularSeries[] {
  const lines = readTraceText(path).split(/\r?\n/).filter((l) => l.trim().length > 0);
  const header = (lines[0] ?? '').split(';').map((h) => h.trim());
  const cpuCol = header.findIndex((h) => h.startsWith('CPU usage [%]'));
  const memCol = header.findIndex((h) => h.startsWith('Memory usage [KB]'));
  if (!/^Timestamp/.test(header[0] ?? '') || cpuCol < 0 || memCol < 0) {
    throw new NovaError('FORECAST_TRACE_BAD_FORMAT', `${path} is not a Bitbrains VM file (need Timestamp, "CPU usage [%]" and "Memory usage [KB]" columns; header: ${header.join(' | ')})`);
  }
  const rows: Array<{ ts: number; cpu: number; mem: number }> = [];
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.split(';');
    let ts = cellNumber(cells[0]);
    if (!Number.isFinite(ts)) continue;
    if (ts > 1e11) ts /= 1000;
    rows.push({ ts, cpu: cellNumber(cells[cpuCol]), mem: cellNumber(cells[memCol]) });
  }
  // Files are in time order, but duplicates and the odd swapped row must not break binning.
  rows.sort((a, b) => a.ts - b.ts);
  const times = rows.map((r) => r.ts);
  const cpu = toGrid(times, rows.map((r) => r.cpu));
  const mem = toGrid(times, rows.map((r) => r.mem));
  const entity = `bitbrains/${vm}`;
  return [
    { id: `bitbrains/${month}/${vm}/cpu`, entity, group: 'bitbrains/cpu', startSec: cpu.startSec, absoluteTime: true, values: cpu.values },
    { id: `bitbrains/${month}/${vm}/mem`, entity, group: 'bitbrains/mem', startSec: mem.startSec, absoluteTime: true, values: mem.values },
  ];
}

/**
 * A Bitbrains trace folder: month sub-folders (e.g. `2013-7`) of `<vm>.csv` files, or the VM
 * files directly. Other files (indexes, notes) are ignored.
 */
export function readBitbrains(dir: string): RegularSeries[] {
  const out: RegularSeries[] = [];
  const readMonth = (monthDir: string, month: string) => {
    for (const file of listSorted(monthDir).sort((a, b) => vmNumber(a) - vmNumber(b))) {
      const m = VM_FILE.exec(file);
      if (m) out.push(...readBitbrainsVm(join(monthDir, file), m[1]!, month));
    }
  };
  readMonth(dir, 'root');
  for (const sub of listSorted(dir)) if (isDir(join(dir, sub))) readMonth(join(dir, sub), sub);
  return out;
}

function vmNumber(file: string): number {
  const m = VM_FILE.exec(file);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}
