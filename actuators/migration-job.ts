import { setTimeout as sleep } from 'node:timers/promises';
import { NovaError } from '../core/index.ts';
import type { MigrateOptions, MigrationProgress, MigrationResult } from './hypervisor.ts';

// The control flow of a live migration is the same whichever adapter runs the libvirt calls:
// start the job, poll its progress, abort it on timeout or cancel, and afterwards make sure
// that a domain which did not move is running on its source again. Adapters supply the calls.

/** A migration in flight, as an adapter started it. */
export interface RunningMigration {
  /** Settles when the migration call returns: resolves if the domain moved, rejects with the adapter's error otherwise. */
  readonly finished: Promise<void>;
  /** The job's progress now, or null when no migration job is active (not started yet, or over). */
  progress(): Promise<MigrationProgress | null>;
  /** Asks libvirt to abort the job (domjobabort / virDomainAbortJob); may fail while no job is active yet. */
  abort(): Promise<void>;
  /** Last resort when aborts do not end the call (e.g. a hung transport): stops the caller's side. */
  kill(): void;
}

/** What the supervisor needs from the adapter besides the running job. */
export interface MigrationHooks {
  name: string;
  sourceUri: string;
  targetUri: string;
  /** How often progress is polled (and aborts are retried), ms. */
  pollMs: number;
  /** How long aborts may take before kill(), ms. */
  abortGraceMs: number;
  /** After a failed move: resumes the domain here if libvirt left it paused; returns its state (or null if it is gone). */
  recoverSource(): Promise<string | null>;
  /** Turns the adapter's error of a failed migration call into HYPERVISOR_MIGRATION_FAILED (or a more precise code). */
  classify(error: unknown): NovaError;
}

/** Rejects option values a migration cannot start with. */
export function checkMigrateOptions(options: MigrateOptions): void {
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new NovaError('HYPERVISOR_INVALID_ARGUMENT', `migration timeoutMs must be a positive number of milliseconds, got ${options.timeoutMs}`);
  }
  if (options.bandwidthMiBps !== undefined && (!Number.isSafeInteger(options.bandwidthMiBps) || options.bandwidthMiBps <= 0)) {
    throw new NovaError('HYPERVISOR_INVALID_ARGUMENT', `migration bandwidthMiBps must be a positive integer, got ${options.bandwidthMiBps}`);
  }
}

/** The error of a migration cancelled before it started: nothing was touched. */
export function cancelledBeforeStart(name: string, sourceUri: string): NovaError {
  return new NovaError('HYPERVISOR_MIGRATION_CANCELLED', `migration of ${name} was cancelled before it started; it stays on ${sourceUri}`, { details: { domain: name, source: sourceUri } });
}

/**
 * Runs a started migration to its end: progress about every pollMs, abort on timeout or on the
 * signal, and on any failure the domain back to running on the source, with a typed error.
 */
export async function superviseMigration(start: () => RunningMigration, options: MigrateOptions, hooks: MigrationHooks): Promise<MigrationResult> {
  const started = performance.now();
  const job = start();
  let settled = false;
  let outcome: { ok: true } | { ok: false; error: unknown } | undefined;
  const finished = job.finished.then(
    () => { outcome = { ok: true }; },
    (error: unknown) => { outcome = { ok: false, error }; },
  ).finally(() => { settled = true; });

  let stop: 'timeout' | 'cancel' | undefined;
  let stopAt = 0;
  const request = (why: 'timeout' | 'cancel') => {
    if (stop !== undefined || settled) return;
    stop = why;
    stopAt = performance.now();
    wake();
  };
  let wake: () => void = () => undefined;
  const timer = setTimeout(() => request('timeout'), options.timeoutMs);
  const onAbort = () => request('cancel');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) request('cancel');

  try {
    let killed = false;
    while (!settled) {
      const tick = new Promise<void>((resolve) => { wake = resolve; });
      await Promise.race([finished, tick, sleep(hooks.pollMs)]);
      if (settled) break;
      if (stop !== undefined) {
        // An abort issued before the job exists fails ("no job is active"): keep asking until
        // the call returns; libvirt also refuses to start a job whose abort was requested.
        await job.abort().catch(() => undefined);
        if (!killed && performance.now() - stopAt > hooks.abortGraceMs) {
          killed = true;
          job.kill();
        }
        continue;
      }
      const p = await job.progress().catch(() => null);
      if (p && !settled && stop === undefined) options.onProgress?.(p);
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  if (outcome?.ok) return { seconds };

  const error = outcome && !outcome.ok ? outcome.error : undefined;
  const sourceState = await hooks.recoverSource().catch(() => null);
  const details = { domain: hooks.name, source: hooks.sourceUri, target: hooks.targetUri, seconds, sourceState };
  const where = sourceState === null
    ? `; it is NOT found on ${hooks.sourceUri} any more: check ${hooks.targetUri}`
    : `; it is ${sourceState} on ${hooks.sourceUri}`;
  if (stop === 'timeout') {
    return Promise.reject(new NovaError('HYPERVISOR_MIGRATION_TIMEOUT', `migration of ${hooks.name} to ${hooks.targetUri} did not finish within ${options.timeoutMs} ms and was aborted${where}`, { retriable: true, cause: error, details }));
  }
  if (stop === 'cancel') {
    return Promise.reject(new NovaError('HYPERVISOR_MIGRATION_CANCELLED', `migration of ${hooks.name} to ${hooks.targetUri} was cancelled${where}`, { cause: error, details }));
  }
  const typed = hooks.classify(error);
  return Promise.reject(new NovaError(typed.code, `${typed.message}${where}`, { retriable: typed.retriable, cause: error, details: { ...typed.details, ...details } }));
}
