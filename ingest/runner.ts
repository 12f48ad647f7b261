import { setTimeout as sleep } from 'node:timers/promises';
import type { FleetSource } from './fleet.ts';
import { malformedVariant } from './malformed.ts';
import type { PublishStats, SamplePublisher } from './publisher.ts';

export interface RunOptions {
  /** Timestamp of the first tick (ms). */
  startTs: number;
  steps: number;
  /** Real time between ticks; 0 replays as fast as Kafka takes it. */
  paceMs: number;
  /** Every Nth VM sample is replaced by a malformed message (0 = never). */
  malformedEvery: number;
  onProgress?: (step: number, stats: PublishStats) => void;
  signal?: AbortSignal;
}

/** Drives a fleet source tick by tick into the publisher; returns what was sent. */
export async function runFleet(source: FleetSource, publisher: SamplePublisher, opts: RunOptions): Promise<PublishStats> {
  const steps = Math.min(opts.steps, source.steps);
  let vmCounter = 0;
  for (let k = 0; k < steps && !opts.signal?.aborted; k++) {
    const tick = source.tick(k, opts.startTs + k * source.stepMs);
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
    opts.onProgress?.(k + 1, publisher.stats);
    if (opts.paceMs > 0 && k + 1 < steps) {
      await publisher.flush();
      await sleep(opts.paceMs, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  }
  await publisher.flush();
  return { ...publisher.stats };
}
