import { basename, join } from 'node:path';
import { NovaError } from '../../core/index.ts';
import type { RegularSeries } from './series.ts';
import { cellNumber, listSorted, readTraceText } from './trace-io.ts';

/**
 * One wide Azure V1 CSV (`step,vm_<id>,…`; one row per 5-minute step, one column per VM).
 * The sample has no absolute start time, so times count from the trace start.
 */
export function readAzureWide(path: string, group: string): RegularSeries[] {
  const lines = readTraceText(path).split(/\r?\n/).filter((l) => l.trim().length > 0);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  if (header[0] !== 'step' || header.length < 2) {
    throw new NovaError('FORECAST_TRACE_BAD_FORMAT', `${path} is not a wide Azure trace (expected a header "step,vm_<id>,…", got "${(lines[0] ?? '').slice(0, 60)}")`);
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
  const metric = group.split('/')[1] ?? 'cpu';
  return vms.map((vm, c) => ({
    id: `azure/${metric}/${vm}`,
    // avg and max of one VM are one entity: both sides of a split see the same VMs.
    entity: `azure/${vm}`,
    group,
    startSec: firstStep * 300,
    absoluteTime: false,
    values: columns[c]!,
  }));
}

/** Every `*.csv` of an Azure folder; `…avg…` files are mean CPU, `…max…` files peak CPU per 5 minutes. */
export function readAzure(dir: string): RegularSeries[] {
  return listSorted(dir)
    .filter((f) => f.endsWith('.csv'))
    .flatMap((f) => readAzureWide(join(dir, f), `azure/${azureMetric(f)}`));
}

function azureMetric(file: string): string {
  const stem = basename(file, '.csv').toLowerCase();
  if (/(^|[_-])max([_-]|$)/.test(stem)) return 'cpu-max';
  if (/(^|[_-])avg([_-]|$)/.test(stem)) return 'cpu-avg';
  return stem.replace(/[^a-z0-9-]+/g, '-');
}
