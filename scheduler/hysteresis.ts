import type { RecentMove } from './types.ts';

/** What recent migrations forbid: moving those VMs again, and sending them back. */
export interface RecentHistory {
  /** VMs moved within the hysteresis window. */
  movedRecently: Set<string>;
  /** VM → hosts it left within the window: it must not return to them. */
  leftRecently: Map<string, Set<string>>;
  /** Migrations in the hour before the snapshot, for the hourly budget. */
  inLastHour: number;
}

const HOUR_MS = 3_600_000;

/** Reads the snapshot's recent moves against the hysteresis window ending at `now`. */
export function recentHistory(moves: readonly RecentMove[] | undefined, now: number, windowMs: number): RecentHistory {
  const movedRecently = new Set<string>();
  const leftRecently = new Map<string, Set<string>>();
  let inLastHour = 0;
  for (const m of moves ?? []) {
    // A move stamped after the snapshot (clock skew) is as recent as one at the snapshot.
    const age = now - m.at;
    if (age < HOUR_MS) inLastHour++;
    if (age >= windowMs) continue;
    movedRecently.add(m.vmId);
    let left = leftRecently.get(m.vmId);
    if (!left) leftRecently.set(m.vmId, (left = new Set()));
    left.add(m.fromHost);
  }
  return { movedRecently, leftRecently, inLastHour };
}
