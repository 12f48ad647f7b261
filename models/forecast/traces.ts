import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RegularSeries } from './series.ts';
import { readAlibaba } from './trace-alibaba.ts';
import { readAzure } from './trace-azure.ts';
import { readBitbrains } from './trace-bitbrains.ts';
import { isDir, listSorted } from './trace-io.ts';
import { planetLabDays, readPlanetLab } from './trace-planetlab.ts';

/** Trace formats this module reads. */
export type TraceKind = 'planetlab' | 'bitbrains' | 'azure' | 'alibaba';

/** One trace folder found under a traces directory. */
export interface TraceFolder {
  name: string;
  path: string;
  /** undefined: a folder in no format read here (e.g. whole-datacentre aggregates). */
  kind: TraceKind | undefined;
  /** Per-VM traces are what the forecasting goal is about; machine-level traces are reported apart. */
  perVm: boolean;
}

/**
 * Classifies each sub-folder of `dir` by name (planetlab*, bitbrains*, azure*, alibaba*), then
 * by content for renamed copies (day folders → PlanetLab, month folders of N.csv → Bitbrains,
 * microsoft_*.csv → Azure, machine_usage.csv → Alibaba).
 */
export function discoverTraceFolders(dir: string): TraceFolder[] {
  return listSorted(dir)
    .filter((name) => isDir(join(dir, name)))
    .map((name) => {
      const path = join(dir, name);
      const kind = kindByName(name) ?? kindByContent(path);
      return { name, path, kind, perVm: kind !== undefined && kind !== 'alibaba' };
    });
}

function kindByName(name: string): TraceKind | undefined {
  const n = name.toLowerCase();
  if (n.startsWith('planetlab')) return 'planetlab';
  if (n.startsWith('bitbrains')) return 'bitbrains';
  if (n.startsWith('azure')) return 'azure';
  if (n.startsWith('alibaba')) return 'alibaba';
  return undefined;
}

function kindByContent(path: string): TraceKind | undefined {
  const entries = listSorted(path);
  if (planetLabDays(path).length > 0) return 'planetlab';
  if (entries.some((e) => /^microsoft_.*\.csv$/.test(e))) return 'azure';
  if (existsSync(join(path, 'machine_usage.csv'))) return 'alibaba';
  const months = entries.filter((e) => /^\d{4}-\d{1,2}$/.test(e) && isDir(join(path, e)));
  if (months.some((m) => listSorted(join(path, m)).some((f) => /^\d+\.csv$/.test(f)))) return 'bitbrains';
  return undefined;
}

/** Reads every series of a trace folder of a known kind. */
export function readTraceFolder(folder: TraceFolder): RegularSeries[] {
  switch (folder.kind) {
    case 'planetlab':
      return readPlanetLab(folder.path);
    case 'bitbrains':
      return readBitbrains(folder.path);
    case 'azure':
      return readAzure(folder.path);
    case 'alibaba':
      return readAlibaba(folder.path);
    default:
      return [];
  }
}
