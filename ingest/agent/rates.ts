// Counters into rates. A rate needs two observations of the same counter; a counter that went
// backwards was reset (a guest restarted, a device was re-created, a 32-bit counter wrapped) and
// its previous value means nothing, so that interval has no rate for it, never a negative one.
import type { ByteCounters } from './procfs.ts';

/** Per second increase of a counter between two reads `seconds` apart; undefined without a usable baseline. */
export function counterRate(previous: number | undefined, current: number | undefined, seconds: number): number | undefined {
  if (previous === undefined || current === undefined) return undefined;
  if (!(seconds > 0) || current < previous) return undefined;
  return (current - previous) / seconds;
}

/** Per second in/out rates summed over devices, and how many devices had no usable baseline. */
export interface DeviceRates {
  inPerSecond: number;
  outPerSecond: number;
  /** Devices that appeared or were reset in this interval: they add nothing to it. */
  restarted: number;
}

/**
 * Sums the rates of the devices present in both reads. A device seen for the first time, or whose
 * counter went backwards, adds 0 for this interval (its bytes before the first read are not this
 * interval's), and one that disappeared adds nothing: the sum never drops below 0.
 */
export function deviceRates(previous: ReadonlyMap<string, ByteCounters>, current: ReadonlyMap<string, ByteCounters>, seconds: number, include: (name: string) => boolean = () => true): DeviceRates {
  const out: DeviceRates = { inPerSecond: 0, outPerSecond: 0, restarted: 0 };
  for (const [name, now] of current) {
    if (!include(name)) continue;
    const before = previous.get(name);
    const rin = counterRate(before?.inBytes, now.inBytes, seconds);
    const rout = counterRate(before?.outBytes, now.outBytes, seconds);
    if (rin === undefined || rout === undefined) {
      out.restarted++;
      continue;
    }
    out.inPerSecond += rin;
    out.outPerSecond += rout;
  }
  return out;
}

/** Clamps into [lo, hi]; NaN becomes lo. */
export function clamp(value: number, lo: number, hi: number): number {
  return value >= lo ? (value <= hi ? value : hi) : lo;
}
