import { basename, join } from 'node:path';
import { NovaError } from '../core/index.ts';
import { cellNumber, listSorted, readTraceText } from './io.ts';

/** One wide Azure V1 CSV: a column of values per VM, one row per 5-minute step. */
export interface AzureWideTable {
  /** VM column names (`vm_<id>`). */
  readonly vms: readonly string[];
  /** The `step` of the first row: 5-minute steps since the trace start (the sample has no absolute time). */
  readonly firstStep: number;
  /** Values of VM i, one per row; NaN where a cell is blank or not a number (the files write NA). */
  readonly columns: readonly Float64Array[];
}

/** Parses one wide Azure V1 CSV (`step,vm_<id>,…`); another header is TRACE_INVALID. */
export function parseAzureWide(text: string, name: string): AzureWideTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  if (header[0] !== 'step' || header.length < 2) {
    throw new NovaError('TRACE_INVALID', `${name} is not a wide Azure trace (expected a header "step,vm_<id>,…", got "${(lines[0] ?? '').slice(0, 60)}")`);
  }
  const vms = header.slice(1);
  const n = lines.length - 1;
  const columns = vms.map(() => new Float64Array(n));
  let firstStep = 0;
  for (let r = 0; r < n; r++) {
    const cells = lines[r + 1]!.split(',');
    if (r === 0) firstStep = cellNumber(cells[0]) || 0;
    for (let c = 0; c < vms.length; c++) columns[c]![r] = cellNumber(cells[c + 1]);
  }
  return { vms, firstStep, columns };
}

/** Reads and parses one wide Azure CSV. */
export function readAzureWide(path: string): AzureWideTable {
  return parseAzureWide(readTraceText(path), path);
}

/** The metric a file holds, from its name: `…avg…` mean CPU (`cpu-avg`), `…max…` peak CPU (`cpu-max`) per 5 minutes. */
function azureMetric(file: string): string {
  const stem = basename(file, '.csv').toLowerCase();
  if (/(^|[_-])max([_-]|$)/.test(stem)) return 'cpu-max';
  if (/(^|[_-])avg([_-]|$)/.test(stem)) return 'cpu-avg';
  return stem.replace(/[^a-z0-9-]+/g, '-');
}

/** Every `*.csv` of an Azure folder (code-unit order) with its metric. */
export function readAzureFolder(dir: string): Array<{ file: string; metric: string; table: AzureWideTable }> {
  return listSorted(dir)
    .filter((f) => f.endsWith('.csv'))
    .map((file) => ({ file, metric: azureMetric(file), table: readAzureWide(join(dir, file)) }));
}
