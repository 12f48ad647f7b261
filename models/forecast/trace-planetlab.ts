import { join } from 'node:path';
import { NovaError } from '../../core/index.ts';
import type { RegularSeries } from './series.ts';
import { cellNumber, isDir, listSorted, readTraceText } from './trace-io.ts';

const DAY = /^(\d{4})(\d{2})(\d{2})$/;

/** Day folders (YYYYMMDD) of a PlanetLab trace folder, oldest first. */
export function planetLabDays(dir: string): string[] {
  return listSorted(dir).filter((d) => DAY.test(d) && isDir(join(dir, d)));
}

/**
 * One PlanetLab day (CloudSim layout): one file per VM, one integer CPU % per 5-minute step
 * from midnight. The folder name gives the date; the trace does not state a zone, read as UTC.
 */
export function readPlanetLabDay(dayDir: string, day: string): RegularSeries[] {
  const m = DAY.exec(day);
  if (!m) throw new NovaError('FORECAST_TRACE_BAD_FORMAT', `PlanetLab day folder "${day}" is not named YYYYMMDD`);
  const startSec = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 1000;
  const out: RegularSeries[] = [];
  for (const file of listSorted(dayDir)) {
    if (file.startsWith('.') || file.endsWith('.md')) continue;
    const path = join(dayDir, file);
    if (isDir(path)) continue;
    const lines = readTraceText(path).split(/\r?\n/);
    // A trailing newline leaves one empty last line; blank lines inside are missing samples.
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
    if (lines.length === 0) continue;
    const values = Float64Array.from(lines, (l) => cellNumber(l));
    // The name is the VM (slice on a node): the same VM on another day is the same entity.
    out.push({ id: `planetlab/${day}/${file}`, entity: `planetlab/${file}`, group: 'planetlab/cpu', startSec, absoluteTime: true, values });
  }
  return out;
}

/** Every day of a PlanetLab folder. */
export function readPlanetLab(dir: string): RegularSeries[] {
  return planetLabDays(dir).flatMap((day) => readPlanetLabDay(join(dir, day), day));
}
