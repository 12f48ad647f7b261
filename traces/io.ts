import { readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { NovaError } from '../core/index.ts';

/** Whole text of a trace file, with errors that say which file and what to check. */
export function readTraceText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NovaError('TRACE_MISSING', `trace file not found: ${path}; check the traces folder (--traces) or NOVACRON_DATA (see docs/data.md)`, { cause });
    throw new NovaError('TRACE_UNREADABLE', `cannot read trace file ${path}: ${(cause as Error).message}`, { cause, retriable: true });
  }
}

/** Entries of a folder, sorted in code-unit order so every machine reads them in the same order. */
export function listSorted(dir: string): string[] {
  try {
    return readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (cause) {
    throw new NovaError('TRACE_MISSING', `trace folder not readable: ${dir} (${(cause as Error).message}); check the traces folder (--traces) or NOVACRON_DATA (see docs/data.md)`, { cause });
  }
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** True when `path` is a folder (false when it is a file or missing). */
export const isDir = (path: string): boolean => statOf(path)?.isDirectory() ?? false;

/** True when `path` is a regular file (false when it is a folder or missing). */
export const isFile = (path: string): boolean => statOf(path)?.isFile() ?? false;

/** A cell as a number; blank or non-numeric cells are missing samples (NaN), not errors. */
export function cellNumber(cell: string | undefined): number {
  if (cell === undefined) return Number.NaN;
  const t = cell.trim();
  if (t === '') return Number.NaN;
  const v = Number(t);
  return Number.isFinite(v) ? v : Number.NaN;
}
