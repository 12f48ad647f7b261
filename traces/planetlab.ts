import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { NovaError } from '../core/index.ts';
import { isDir, isFile, listSorted, readTraceText } from './io.ts';

/** Seconds between two values of a PlanetLab file. */
export const PLANETLAB_STEP_SECONDS = 300;
/** Values in a PlanetLab file: one day of 5-minute means. */
export const PLANETLAB_SAMPLES = 288;

const DAY = /^(\d{4})(\d{2})(\d{2})$/;
const INTEGER = /^\d+$/;

/** Day folders (YYYYMMDD) of a PlanetLab trace folder, oldest first. */
export function planetLabDays(dir: string): string[] {
  return listSorted(dir).filter((d) => DAY.test(d) && isDir(join(dir, d)));
}

/** Unix seconds of a day folder's first value: its midnight, read as UTC (the trace states no zone). */
export function planetLabDayStart(day: string): number {
  const m = DAY.exec(day);
  if (!m) throw new NovaError('TRACE_INVALID', `PlanetLab day folder "${day}" is not named YYYYMMDD`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 1000;
}

/**
 * The trace files of a day folder in code-unit order (what Node's listing gives on Linux, made
 * explicit so every platform agrees). Hidden files, notes (*.md) and sub-folders are not VMs.
 */
export function listPlanetLabFiles(dayDir: string): string[] {
  const files = listSorted(dayDir).filter((f) => !f.startsWith('.') && !f.endsWith('.md') && isFile(join(dayDir, f)));
  if (files.length === 0) throw new NovaError('TRACE_MISSING', `no trace files in ${dayDir}`);
  return files;
}

/**
 * Parses one PlanetLab file: one integer CPU % (0–100) per line, nothing else. CRLF line ends
 * and blank lines at the end are accepted; anything else is TRACE_INVALID, naming the line.
 */
export function parsePlanetLabText(text: string, name: string): Uint8Array {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new NovaError('TRACE_INVALID', `PlanetLab file ${name} holds no values; expected one integer CPU % per line`);
  const out = new Uint8Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const v = INTEGER.test(line) ? Number.parseInt(line, 10) : Number.NaN;
    if (!(v <= 100)) throw new NovaError('TRACE_INVALID', `PlanetLab file ${name} line ${i + 1}: expected an integer CPU % from 0 to 100, found ${JSON.stringify(line)}`);
    out[i] = v;
  }
  return out;
}

/** Reads and parses one PlanetLab file (see `parsePlanetLabText`). */
export function readPlanetLabFile(path: string): Uint8Array {
  return parsePlanetLabText(readTraceText(path), path);
}

/** How the VM numbering (file order) of a day was decided. */
export type FileOrderSource =
  | { kind: 'order-file'; path: string }
  | { kind: 'sorted'; reason: string };

/** Where the file-order list of a day lives: `<dataDir>/../docs/planetlab-file-order-<day>.txt`. */
export function defaultOrderFile(dataDir: string, day: string): string {
  return resolve(dataDir, '..', 'docs', `planetlab-file-order-${day}.txt`);
}

/** Reads a file-order list: one name per line, kept verbatim (some names contain spaces). */
export function readOrderFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new NovaError('TRACE_ORDER_MISSING', `cannot read the file-order list ${path}; pass --order FILE or omit it to use sorted order`, { cause });
  }
  const names = text.split('\n');
  if (names.at(-1) === '') names.pop();
  return names.map((n) => (n.endsWith('\r') ? n.slice(0, -1) : n));
}

/**
 * The trace files of a day in VM order: the names of `orderFile` when one is given and exists
 * (the directory-listing order CloudSim saw, which its published rows depend on), else sorted.
 * A list that does not name exactly the day's files is TRACE_ORDER_MISMATCH.
 */
export function planetLabFileOrder(dayDir: string, orderFile?: string): { names: string[]; order: FileOrderSource } {
  const files = listPlanetLabFiles(dayDir);
  if (orderFile === undefined) return { names: files, order: { kind: 'sorted', reason: 'no file-order list given' } };
  if (!existsSync(orderFile)) return { names: files, order: { kind: 'sorted', reason: `no file-order list at ${orderFile}` } };
  const names = readOrderFile(orderFile);
  const onDisk = new Set(files);
  const listed = new Set(names);
  const missing = names.filter((n) => !onDisk.has(n));
  const unlisted = files.filter((f) => !listed.has(f));
  if (missing.length > 0 || unlisted.length > 0 || listed.size !== names.length) {
    throw new NovaError('TRACE_ORDER_MISMATCH', `file-order list ${orderFile} does not match ${dayDir}: ${missing.length} listed names are not files (e.g. ${JSON.stringify(missing[0] ?? '')}), ${unlisted.length} files are not listed, ${names.length - listed.size} duplicates; use the list made for this day or omit --order`);
  }
  return { names, order: { kind: 'order-file', path: orderFile } };
}

/** Options of `readPlanetLabDay`. */
export interface PlanetLabReadOptions {
  /** File-order list of the day (see `planetLabFileOrder`); sorted file names without one. */
  orderFile?: string;
  /** Read only the first N files of that order; all when omitted. */
  maxVms?: number;
}

/** A PlanetLab day folder read from disk: file i is VM i. */
export interface PlanetLabDay {
  readonly dayDir: string;
  /** The folder's name (e.g. 20110303). */
  readonly day: string;
  /** File name of VM i. */
  readonly names: readonly string[];
  /** VM i's CPU % per 5-minute step, as written in its file. */
  readonly percent: readonly Uint8Array[];
  /** How the VM order was decided. */
  readonly order: FileOrderSource;
}

/** Reads the trace files of one PlanetLab day folder (one file per VM, see SOURCE.md of the data). */
export function readPlanetLabDay(dayDir: string, options: PlanetLabReadOptions = {}): PlanetLabDay {
  const { maxVms } = options;
  if (maxVms !== undefined && !(Number.isInteger(maxVms) && maxVms > 0)) throw new NovaError('TRACE_OPTION_INVALID', `maxVms must be a positive integer, got ${maxVms}`);
  const { names: ordered, order } = planetLabFileOrder(dayDir, options.orderFile);
  const names = maxVms === undefined ? ordered : ordered.slice(0, maxVms);
  const percent = names.map((n) => readPlanetLabFile(join(dayDir, n)));
  return { dayDir, day: basename(dayDir), names, percent, order };
}
