import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { NovaError } from '../../core/index.ts';

/**
 * Where a producing run got to, kept next to its spool so `--resume` can continue after the
 * last step it completed ("completed" = every sample of the step is with Kafka or in the spool).
 */
export interface RunProgress {
  version: 1;
  /** What was being produced (source and its options): a resume of something else is refused. */
  fleet: string;
  stepMs: number;
  /** Source index of the last completed step. */
  lastStep: number;
  /** Sample timestamp of that step. */
  lastTs: number;
  updatedAt: string;
}

/** The progress file's content, or undefined if there is none. */
export function readProgress(file: string): RunProgress | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const p = JSON.parse(text) as RunProgress;
    if (p.version !== 1 || typeof p.fleet !== 'string' || !Number.isInteger(p.lastStep) || !Number.isFinite(p.lastTs) || !(p.stepMs > 0)) throw new Error('unexpected fields');
    return p;
  } catch (cause) {
    throw new NovaError('PROGRESS_UNREADABLE', `the progress file ${file} is damaged (${(cause as Error).message}); delete it to start from scratch`, { cause });
  }
}

/** Replaces the progress file atomically (write, fsync, rename): a crash leaves the old or the new one. */
export function writeProgress(file: string, progress: Omit<RunProgress, 'version' | 'updatedAt'>): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify({ version: 1, ...progress, updatedAt: new Date().toISOString() }, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/**
 * The history a resumed run produces: from the grid point after the recorded step up to the
 * last grid point at or before `nowTs`, continuing the source's step numbering.
 */
export function resumeWindow(p: RunProgress, nowTs: number): { firstStep: number; startTs: number; steps: number } {
  const startTs = (Math.floor(p.lastTs / p.stepMs) + 1) * p.stepMs;
  const lastTs = Math.floor(nowTs / p.stepMs) * p.stepMs;
  const steps = lastTs >= startTs ? Math.floor((lastTs - startTs) / p.stepMs) + 1 : 0;
  return { firstStep: p.lastStep + 1, startTs, steps };
}
