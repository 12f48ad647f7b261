/**
 * Cost model of live migration and the linear host power model that prices its benefit.
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

/** A host's draw in the linear power model: idle plus the busy share of the idle-to-max range. */
export function hostWatts(idleWatts: number, maxWatts: number, cpuLoad: number, cpuCores: number): number {
  const busy = cpuCores > 0 ? Math.min(1, Math.max(0, cpuLoad / cpuCores)) : 0;
  return idleWatts + (maxWatts - idleWatts) * busy;
}

/** Watts one more core of load adds to a host (the slope of the linear model). */
export function wattsPerCore(idleWatts: number, maxWatts: number, cpuCores: number): number {
  return cpuCores > 0 ? (maxWatts - idleWatts) / cpuCores : 0;
}

/**
 * Energy saved by powering a host off over `horizonHours`, in watt-hours: its own draw, less
 * what its VMs' load adds on the hosts they move to (`addedWatts`).
 */
export function powerOffBenefitWh(ownWatts: number, addedWatts: number, horizonHours: number): number {
  return Math.max(0, ownWatts - addedWatts) * horizonHours;
}
