import { join } from 'node:path';
import { NovaError } from '../core/index.ts';
import { isDir, isFile, listSorted, readTraceText } from './io.ts';

/** The columns of one Bitbrains GWA-T-12 VM file that NovaCron reads, one entry per row, rows in time order. */
export interface BitbrainsTable {
  readonly name: string;
  /** Unix seconds of each row. */
  readonly time: Float64Array;
  readonly cores: Float64Array;
  /** Provisioned CPU capacity, MHz; 0 on rows that carry no measurement. */
  readonly capacityMhz: Float64Array;
  readonly usageMhz: Float64Array;
  readonly usagePercent: Float64Array;
  /** Actively used memory, KB. */
  readonly memoryKb: Float64Array;
  /** Provisioned memory, KB; 0 on rows that carry no measurement. */
  readonly memCapacityKb: Float64Array;
}

const COLUMNS = {
  time: 'Timestamp [ms]',
  cores: 'CPU cores',
  capacityMhz: 'CPU capacity provisioned [MHZ]',
  usageMhz: 'CPU usage [MHZ]',
  usagePercent: 'CPU usage [%]',
  memoryKb: 'Memory usage [KB]',
  memCapacityKb: 'Memory capacity provisioned [KB]',
} as const;
type Column = keyof typeof COLUMNS;

const VM_FILE = /^(\d+)\.csv$/;
const MONTH = /^\d{4}-\d{1,2}$/;

/**
 * Parses one Bitbrains CSV (`;` + TAB separated, a header naming the columns). The "[ms]"
 * timestamp is in fact Unix seconds (SOURCE.md); values above 1e11 are read as milliseconds so
 * a corrected copy works too. Blank lines are skipped; a missing column or a cell that is not a
 * number is TRACE_INVALID. Rows are returned sorted by time (stable: rows of one timestamp keep
 * the file's order); what a row without capacity means is the caller's to decide.
 */
export function parseBitbrainsCsv(text: string, name: string): BitbrainsTable {
  const lines = text.split('\n');
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  const header = (lines[headerAt] ?? '').split(';').map((c) => c.trim());
  const keys = Object.keys(COLUMNS) as Column[];
  const at = keys.map((k) => {
    const i = header.indexOf(COLUMNS[k]);
    if (i < 0) throw new NovaError('TRACE_INVALID', `Bitbrains file ${name}: no column "${COLUMNS[k]}" in its header; expected the GWA-T-12 format (see traces/bitbrains-rnd/SOURCE.md)`);
    return i;
  });
  const rows: number[][] = [];
  for (let i = headerAt + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const cells = line.split(';');
    rows.push(keys.map((k, c) => {
      const cell = (cells[at[c]!] ?? '').trim();
      const x = Number(cell);
      if (cell === '' || !Number.isFinite(x)) throw new NovaError('TRACE_INVALID', `Bitbrains file ${name} line ${i + 1}: the ${COLUMNS[k]} is ${JSON.stringify(cell)}, expected a number`);
      return k === 'time' && x > 1e11 ? x / 1000 : x;
    }));
  }
  rows.sort((a, b) => a[0]! - b[0]!);
  const column = (c: number) => Float64Array.from(rows, (r) => r[c]!);
  return { name, time: column(0), cores: column(1), capacityMhz: column(2), usageMhz: column(3), usagePercent: column(4), memoryKb: column(5), memCapacityKb: column(6) };
}

/** Reads and parses one Bitbrains VM file; `name` labels it in messages (default: the path). */
export function readBitbrainsFile(path: string, name = path): BitbrainsTable {
  return parseBitbrainsCsv(readTraceText(path), name);
}

/** The VM files (`<id>.csv`) of a Bitbrains month folder, in numeric order (1.csv, 2.csv, …, 35.csv); other files are not VMs. */
export function listBitbrainsFiles(dir: string): string[] {
  const files = listSorted(dir).filter((f) => VM_FILE.test(f) && isFile(join(dir, f)));
  return files.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
}

/** The month sub-folders (`YYYY-M`, e.g. 2013-7) of a Bitbrains download, in code-unit order. */
export function bitbrainsMonths(dir: string): string[] {
  return listSorted(dir).filter((d) => MONTH.test(d) && isDir(join(dir, d)));
}
