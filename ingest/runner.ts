import { setTimeout as sleep } from 'node:timers/promises';
import type { FleetSource } from './fleet.ts';
import { malformedVariant } from './malformed.ts';
import type { PublishStats, SamplePublisher } from './publisher.ts';

/** Live mode: every tick is stamped with the real clock, aligned to `intervalMs`, never in the future. */
export interface LiveClock {
  /** Real time between ticks, and the grid their timestamps sit on (ms since epoch, multiples of it). */
  intervalMs: number;
  /** Timestamp of the last sample already produced; the first live tick comes after it. */
  afterTs: number;
  /** The clock (tests pass a fake one); Date.now by default. */
  now?: () => number;
}

/** Where a run got to: every step up to `step` (source index) is with the producer. */
export interface StepsDone {
  step: number;
  ts: number;
}

export interface RunOptions {
  /** Timestamp of the first tick (ms); ignored in live mode. */
  startTs: number;
  steps: number;
  /** Source index of the first tick (a resumed run continues where the last one stopped); default 0. */
  firstStep?: number;
  /** Real time between ticks (fixed timestamps startTs + k·stepMs); 0 replays as fast as Kafka takes it. */
  paceMs: number;
  /** Stamp ticks with the real clock instead of startTs + k·stepMs (and pace by it). */
  live?: LiveClock;
  /** Every Nth VM sample is replaced by a malformed message (0 = never). */
  malformedEvery: number;
  onProgress?: (step: number, stats: PublishStats) => void;
  /** Called after a flush: the steps so far are whole with the producer (resume from step + 1). */
  onStepsDone?: (done: StepsDone) => void | Promise<void>;
  /** How often a fast replay flushes to report `onStepsDone` (default 2 s); paced and live runs report every step. */
  checkpointEveryMs?: number;
  signal?: AbortSignal;
}

/**
 * Drives a fleet source tick by tick into the publisher; returns what was sent. A step is
 * always finished whole: an abort is honoured between steps, then everything is flushed.
 */
export async function runFleet(source: FleetSource, publisher: SamplePublisher, opts: RunOptions): Promise<PublishStats> {
  const first = opts.firstStep ?? 0;
  const live = opts.live;
  // A finite trace replays once in history mode; live mode loops over it.
  const steps = live ? opts.steps : Math.max(0, Math.min(opts.steps, source.steps - first));
  const now = live?.now ?? Date.now;
  const paced = opts.paceMs > 0 || live !== undefined;
  const checkpointEveryMs = opts.checkpointEveryMs ?? 2000;
  let lastCheckpoint = Date.now();
  let done: StepsDone | undefined;
  let reported: StepsDone | undefined;
  let prevTs = live?.afterTs ?? 0;
  // Pacing by deadlines from the start, not by sleeping a fixed time after each step: no drift.
  const t0 = Date.now();
  let vmCounter = 0;

  const report = async () => {
    await publisher.flush();
    if (done && done !== reported) {
      reported = done;
      await opts.onStepsDone?.(done);
    }
    lastCheckpoint = Date.now();
  };

  for (let j = 0; j < steps && !opts.signal?.aborted; j++) {
    let ts: number;
    if (live) {
      const due = (Math.floor(prevTs / live.intervalMs) + 1) * live.intervalMs;
      // A loop: a timer may fire a hair early, and a stamp must never be ahead of the clock.
      for (let wait = due - now(); wait > 0 && !opts.signal?.aborted; wait = due - now()) {
        await sleep(wait, undefined, { signal: opts.signal }).catch(() => undefined);
      }
      if (opts.signal?.aborted) break;
      // The latest grid point reached: never in the future, and a late tick skips ahead instead of lagging.
      ts = Math.max(due, Math.floor(now() / live.intervalMs) * live.intervalMs);
      prevTs = ts;
    } else {
      ts = opts.startTs + j * source.stepMs;
    }
    const k = first + j;
    const tick = source.tick(Number.isFinite(source.steps) ? k % source.steps : k, ts);
    if (opts.malformedEvery > 0) {
      const keep = [];
      for (const vm of tick.vms) {
        vmCounter++;
        if (vmCounter % opts.malformedEvery === 0) {
          await publisher.addMalformed(vm.hostId, malformedVariant(vmCounter / opts.malformedEvery, vm).value);
        } else keep.push(vm);
      }
      tick.vms = keep;
    }
    await publisher.addTick(tick);
    done = { step: k, ts };
    opts.onProgress?.(j + 1, publisher.stats);
    if (paced) {
      await report();
      if (!live && j + 1 < steps) {
        const wait = t0 + (j + 1) * opts.paceMs - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal: opts.signal }).catch(() => undefined);
      }
    } else if (opts.onStepsDone && Date.now() - lastCheckpoint >= checkpointEveryMs) {
      await report();
    }
  }
  await report();
  return { ...publisher.stats };
}
