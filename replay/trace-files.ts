import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { NovaError } from '../core/index.ts';
import { parseTrace, PLANETLAB_SAMPLES, type Workload } from './workload.ts';

/** How the VM numbering (file order) was decided. */
export type FileOrderSource =
  | { kind: 'order-file'; path: string }
  | { kind: 'sorted'; reason: string };

/** A PlanetLab day read from disk, with the provenance of its VM order. */
export interface LoadedDay {
  workload: Workload;
  order: FileOrderSource;
  dayDir: string;
}

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
    throw new NovaError('BACKTEST_ORDER_MISSING', `cannot read the file-order list ${path}; pass --order FILE or omit it to use sorted order`, { cause });
  }
  const names = text.split('\n');
  if (names.at(-1) === '') names.pop();
  return names.map((n) => (n.endsWith('\r') ? n.slice(0, -1) : n));
}

function listTraceFiles(dayDir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dayDir);
  } catch (cause) {
    throw new NovaError('BACKTEST_TRACE_MISSING', `cannot read the PlanetLab day folder ${dayDir}; set NOVACRON_DATA or pass --traces DIR (a folder holding <day>/ folders, see docs/data.md)`, { cause });
  }
  // Byte order (what Node's own listing gives on Linux), made explicit so every platform agrees.
  // Hidden files and notes (*.md) next to the traces are not VMs.
  return entries.filter((f) => !f.startsWith('.') && !f.endsWith('.md') && statSync(join(dayDir, f)).isFile()).sort();
}

/**
 * Loads every trace of a day folder. VM i is the i-th name of `orderFile` when one is given and
 * exists (the listing order CloudSim saw, needed to reproduce its table); otherwise names sorted.
 */
export function loadPlanetLabDay(dayDir: string, orderFile?: string): LoadedDay {
  const files = listTraceFiles(dayDir);
  if (files.length === 0) throw new NovaError('BACKTEST_TRACE_MISSING', `no trace files in ${dayDir}`);
  let names = files;
  let order: FileOrderSource = { kind: 'sorted', reason: 'no file-order list given' };
  if (orderFile !== undefined) {
    if (existsSync(orderFile)) {
      names = readOrderFile(orderFile);
      const onDisk = new Set(files);
      const listed = new Set(names);
      const missing = names.filter((n) => !onDisk.has(n));
      const unlisted = files.filter((f) => !listed.has(f));
      if (missing.length > 0 || unlisted.length > 0 || listed.size !== names.length) {
        throw new NovaError('BACKTEST_ORDER_MISMATCH', `file-order list ${orderFile} does not match ${dayDir}: ${missing.length} listed names are not files (e.g. ${JSON.stringify(missing[0] ?? '')}), ${unlisted.length} files are not listed, ${names.length - listed.size} duplicates; use the list made for this day or omit --order`);
      }
      order = { kind: 'order-file', path: orderFile };
    } else {
      order = { kind: 'sorted', reason: `no file-order list at ${orderFile}` };
    }
  }
  const utilization = names.map((n) => parseTrace(readFileSync(join(dayDir, n), 'utf8'), join(dayDir, n), PLANETLAB_SAMPLES));
  return { workload: { day: basename(dayDir), names, utilization, interval: 300 }, order, dayDir };
}
