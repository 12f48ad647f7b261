/**
 * Cost model of live migration (a host's power is the cost model's load curve, cost/model.ts).
 * Pre-copy migration sends the memory, then re-sends what was dirtied meanwhile: the series
 * M/B · (1 + D/B + (D/B)² + …) sums to M / (B − D), and never converges when D ≥ B (libvirt
 * then throttles or switches to post-copy), so the time is capped.
 */

/** Parameters of the migration cost model. */
export interface MigrationCostModel {
  /** Link bandwidth available to one migration, bytes per second. */
  bandwidth: number;
  /** Time assumed for a migration that would not converge, seconds. */
  maxSeconds: number;
  /** Worth of one degraded host-second, in watt-seconds. */
  degradationWatts: number;
}

/** Estimated live migration of one VM. */
export interface MigrationEstimate {
  seconds: number;
  /** Source and target both run degraded while it lasts. */
  hostSeconds: number;
  /** hostSeconds priced at degradationWatts, in watt-hours. */
  costWh: number;
  /** Dirty rate at or above the bandwidth: the time is the cap. */
  nonConverging: boolean;
}

/** Hosts degraded by one migration: the one sending and the one receiving. */
const HOSTS_PER_MIGRATION = 2;

/** Estimated time and cost of live-migrating `memBytes` dirtied at `dirtyBytesPerSec`. */
export function estimateMigration(memBytes: number, dirtyBytesPerSec: number, model: MigrationCostModel): MigrationEstimate {
  const seconds = migrationSeconds(memBytes, dirtyBytesPerSec, model);
  return { seconds, hostSeconds: seconds * HOSTS_PER_MIGRATION, costWh: migrationCostWh(seconds, model), nonConverging: dirtyBytesPerSec >= model.bandwidth };
}

/** Seconds to live-migrate `memBytes` dirtied at `dirtyBytesPerSec`: memory / (bandwidth − dirty rate), capped. */
export function migrationSeconds(memBytes: number, dirtyBytesPerSec: number, model: MigrationCostModel): number {
  const headroom = model.bandwidth - dirtyBytesPerSec;
  return headroom <= 0 ? model.maxSeconds : Math.min(model.maxSeconds, memBytes / headroom);
}

/** Cost of a migration lasting `seconds`: both hosts degraded meanwhile, priced at degradationWatts, in Wh. */
export function migrationCostWh(seconds: number, model: MigrationCostModel): number {
  return (seconds * HOSTS_PER_MIGRATION * model.degradationWatts) / 3600;
}
