import { join } from 'node:path';
import {
  bitbrainsMonths,
  listBitbrainsFiles,
  planetLabDays,
  planetLabDayStart,
  readAlibabaMachineUsage,
  readAzureFolder,
  readAzureWide,
  readBitbrainsFile,
  readPlanetLabDay,
  type AzureWideTable,
  type TraceFolder,
} from '../../traces/index.ts';
import { STEP_SEC, toGrid, type RegularSeries } from './series.ts';

// The trace files are read by traces/; this module only turns them into forecasting series.

/**
 * One PlanetLab day (CloudSim layout): one series per VM file, one CPU % per 5-minute step
 * from the folder date's midnight UTC.
 */
export function planetLabDaySeries(dayDir: string, day: string): RegularSeries[] {
  const startSec = planetLabDayStart(day);
  const { names, percent } = readPlanetLabDay(dayDir);
  // The name is the VM (slice on a node): the same VM on another day is the same entity.
  return names.map((file, i) => ({ id: `planetlab/${day}/${file}`, entity: `planetlab/${file}`, group: 'planetlab/cpu', startSec, absoluteTime: true, values: Float64Array.from(percent[i]!) }));
}

/** Every day of a PlanetLab folder. */
export function planetLabSeries(dir: string): RegularSeries[] {
  return planetLabDays(dir).flatMap((day) => planetLabDaySeries(join(dir, day), day));
}

/** One Bitbrains VM file: CPU usage [%] and memory usage [KB], averaged onto the 5-minute grid. */
export function bitbrainsVmSeries(path: string, vm: string, month: string): RegularSeries[] {
  const t = readBitbrainsFile(path);
  const cpu = toGrid(t.time, t.usagePercent);
  const mem = toGrid(t.time, t.memoryKb);
  const entity = `bitbrains/${vm}`;
  return [
    { id: `bitbrains/${month}/${vm}/cpu`, entity, group: 'bitbrains/cpu', startSec: cpu.startSec, absoluteTime: true, values: cpu.values },
    { id: `bitbrains/${month}/${vm}/mem`, entity, group: 'bitbrains/mem', startSec: mem.startSec, absoluteTime: true, values: mem.values },
  ];
}

/** A Bitbrains trace folder: VM files directly in it (month `root`), then those of each month sub-folder (e.g. `2013-7`). */
export function bitbrainsSeries(dir: string): RegularSeries[] {
  const month = (monthDir: string, name: string) => listBitbrainsFiles(monthDir).flatMap((f) => bitbrainsVmSeries(join(monthDir, f), f.slice(0, -'.csv'.length), name));
  return [...month(dir, 'root'), ...bitbrainsMonths(dir).flatMap((m) => month(join(dir, m), m))];
}

/** The series of one wide Azure table; the sample has no absolute start time, so times count from the trace start. */
function azureTableSeries(table: AzureWideTable, group: string): RegularSeries[] {
  const metric = group.split('/')[1] ?? 'cpu';
  return table.vms.map((vm, c) => ({
    id: `azure/${metric}/${vm}`,
    // avg and max of one VM are one entity: both sides of a split see the same VMs.
    entity: `azure/${vm}`,
    group,
    startSec: table.firstStep * STEP_SEC,
    absoluteTime: false,
    values: table.columns[c]!,
  }));
}

/** One wide Azure V1 CSV (`step,vm_<id>,…`): one series per VM column, in `group`. */
export function azureWideSeries(path: string, group: string): RegularSeries[] {
  return azureTableSeries(readAzureWide(path), group);
}

/** Every `*.csv` of an Azure folder; `…avg…` files are mean CPU, `…max…` files peak CPU per 5 minutes. */
export function azureSeries(dir: string): RegularSeries[] {
  return readAzureFolder(dir).flatMap(({ metric, table }) => azureTableSeries(table, `azure/${metric}`));
}

/** Alibaba `machine_usage.csv`: per machine CPU and memory %, averaged onto the 5-minute grid. */
export function alibabaMachineSeries(path: string): RegularSeries[] {
  return readAlibabaMachineUsage(path).flatMap(({ machine, time, cpuPercent, memPercent }) => {
    const cpu = toGrid(time, cpuPercent);
    const mem = toGrid(time, memPercent);
    const entity = `alibaba/${machine}`;
    return [
      { id: `alibaba/${machine}/cpu`, entity, group: 'alibaba/cpu', startSec: cpu.startSec, absoluteTime: false, values: cpu.values },
      { id: `alibaba/${machine}/mem`, entity, group: 'alibaba/mem', startSec: mem.startSec, absoluteTime: false, values: mem.values },
    ];
  });
}

/** Reads every series of a trace folder of a known kind (see `discoverTraceFolders` in traces/). */
export function readTraceFolder(folder: TraceFolder): RegularSeries[] {
  switch (folder.kind) {
    case 'planetlab':
      return planetLabSeries(folder.path);
    case 'bitbrains':
      return bitbrainsSeries(folder.path);
    case 'azure':
      return azureSeries(folder.path);
    case 'alibaba':
      return alibabaMachineSeries(join(folder.path, 'machine_usage.csv'));
    default:
      return [];
  }
}
