import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bitbrainsMonths, listBitbrainsFiles } from './bitbrains.ts';
import { isDir, listSorted } from './io.ts';
import { planetLabDays } from './planetlab.ts';

/** Trace formats this folder reads. */
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
  if (planetLabDays(path).length > 0) return 'planetlab';
  if (listSorted(path).some((e) => /^microsoft_.*\.csv$/.test(e))) return 'azure';
  if (existsSync(join(path, 'machine_usage.csv'))) return 'alibaba';
  if (bitbrainsMonths(path).some((m) => listBitbrainsFiles(join(path, m)).length > 0)) return 'bitbrains';
  return undefined;
}
