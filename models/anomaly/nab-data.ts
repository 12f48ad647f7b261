import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NovaError } from '../../core/index.ts';

/** One NAB data file: rows in file order, timestamps as ms since epoch (NAB times carry no zone; read as UTC). */
export interface NabSeries {
  /** Key of the file in the windows file, e.g. `realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv`. */
  key: string;
  timestamps: number[];
  values: number[];
}

/** Anomaly windows of one file: [start, end] timestamps (ms), both inclusive, as labelled. */
export type NabWindowLimits = Array<[number, number]>;

/** A NAB-format corpus: the files a windows file names, with their windows. */
export interface NabCorpus {
  files: NabSeries[];
  windows: Map<string, NabWindowLimits>;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Parses NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` into ms since epoch (UTC), so data and window times compare exactly. */
export function parseNabTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) throw new NovaError('NAB_BAD_TIMESTAMP', `"${text}" is not a NAB timestamp (expected YYYY-MM-DD HH:MM:SS)`);
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * 1000);
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NovaError('NAB_FILE_MISSING', `${what} not found: ${path}; check --data/--labels or NOVACRON_DATA (see docs/data.md)`, { cause: err });
    throw new NovaError('NAB_READ_FAILED', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads a CSV with a header row and returns the named columns; NAB's files are plain
 * (no quoting), so a split on commas is exact.
 */
export function readCsvColumns(path: string, columns: readonly string[], what = 'CSV file'): { rows: number; cols: Map<string, string[]> } {
  const lines = readText(path, what).split(/\r?\n/).filter((l) => l.length > 0);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const idx = columns.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new NovaError('NAB_BAD_CSV', `${path} has no "${c}" column (header: ${header.join(',')})`);
    return i;
  });
  const cols = new Map<string, string[]>(columns.map((c) => [c, []]));
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.split(',');
    columns.forEach((c, k) => {
      const cell = cells[idx[k]!];
      if (cell === undefined) throw new NovaError('NAB_BAD_CSV', `${path} line ${r + 1} has no "${c}" cell`);
      cols.get(c)!.push(cell);
    });
  }
  return { rows: lines.length - 1, cols };
}

function toNumber(cell: string, path: string, row: number): number {
  const v = Number(cell);
  if (cell.trim() === '' || !Number.isFinite(v)) throw new NovaError('NAB_BAD_CSV', `${path} row ${row + 2}: "${cell}" is not a number`);
  return v;
}

/** Reads one NAB data file (`timestamp,value`). */
export function readNabSeries(path: string, key: string = path): NabSeries {
  const { cols } = readCsvColumns(path, ['timestamp', 'value'], 'NAB data file');
  const timestamps = cols.get('timestamp')!.map(parseNabTimestamp);
  const values = cols.get('value')!.map((c, i) => toNumber(c, path, i));
  return { key, timestamps, values };
}

/** Reads one NAB results file (`timestamp,...,anomaly_score,...`): the detector's score per row. */
export function readNabResults(path: string): { timestamps: number[]; scores: number[] } {
  const { cols } = readCsvColumns(path, ['timestamp', 'anomaly_score'], 'NAB results file');
  return {
    timestamps: cols.get('timestamp')!.map(parseNabTimestamp),
    scores: cols.get('anomaly_score')!.map((c, i) => toNumber(c, path, i)),
  };
}

/** Reads a NAB windows file (`labels/combined_windows.json` layout): file key → list of [start, end]. */
export function readNabWindows(path: string): Map<string, NabWindowLimits> {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(path, 'NAB windows file'));
  } catch (err) {
    if (err instanceof NovaError) throw err;
    throw new NovaError('NAB_BAD_LABELS', `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new NovaError('NAB_BAD_LABELS', `${path} must map each data file to its list of [start, end] windows`);
  }
  const out = new Map<string, NabWindowLimits>();
  for (const [key, list] of Object.entries(raw as Record<string, unknown>)) {
    if (!Array.isArray(list)) throw new NovaError('NAB_BAD_LABELS', `${path}: windows of "${key}" must be a list`);
    out.set(
      key,
      list.map((w, i) => {
        if (!Array.isArray(w) || w.length !== 2 || typeof w[0] !== 'string' || typeof w[1] !== 'string') {
          throw new NovaError('NAB_BAD_LABELS', `${path}: window ${i} of "${key}" must be ["start", "end"]`);
        }
        return [parseNabTimestamp(w[0]), parseNabTimestamp(w[1])] as [number, number];
      }),
    );
  }
  return out;
}

/**
 * Loads exactly the files a windows file names (keys are paths relative to `dataDir`),
 * in the windows file's order; a named file that is missing is an error naming its path.
 */
export function loadNabCorpus(dataDir: string, windowsPath: string): NabCorpus {
  const windows = readNabWindows(windowsPath);
  const files = [...windows.keys()].map((key) => readNabSeries(join(dataDir, key), key));
  return { files, windows };
}
