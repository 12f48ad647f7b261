import { NovaError } from '../../core/index.ts';

/**
 * How much an executor may do at once, per hour and when, in the spirit of Karpenter's disruption
 * budgets: a migration loads two hosts (its source and target) and their cluster's network.
 */
export interface ExecutionLimits {
  /** Migrations touching one host (as source or target) at once (default 2). */
  maxConcurrentPerHost: number;
  /** Migrations within one cluster at once (default 8). */
  maxConcurrentPerCluster: number;
  /** Migrations started in any hour, across plans and executor restarts (default 60). */
  maxMigrationsPerHour: number;
  /** When actions may start (UTC); empty = any time. An action already running finishes. */
  windows: readonly MaintenanceWindow[];
}

/** A recurring time of day when actions may start (UTC), on some weekdays (0 = Sunday); may wrap past midnight. */
export interface MaintenanceWindow {
  start: string;
  end: string;
  days?: readonly number[];
}

export const DEFAULT_LIMITS: Readonly<ExecutionLimits> = Object.freeze({ maxConcurrentPerHost: 2, maxConcurrentPerCluster: 8, maxMigrationsPerHour: 60, windows: Object.freeze([]) });

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Checks limits given by an operator (EXECUTION_LIMITS_INVALID naming the field). */
export function checkLimits(l: ExecutionLimits): ExecutionLimits {
  const bad = (field: string, want: string, got: unknown): never => {
    throw new NovaError('EXECUTION_LIMITS_INVALID', `execution limit ${field} must be ${want}, got ${JSON.stringify(got)}`, { details: { field } });
  };
  for (const f of ['maxConcurrentPerHost', 'maxConcurrentPerCluster', 'maxMigrationsPerHour'] as const) {
    if (!(Number.isInteger(l[f]) && l[f] >= 1 && l[f] <= 100_000)) bad(f, 'an integer from 1 to 100000', l[f]);
  }
  l.windows.forEach((w, i) => {
    if (!HHMM.test(w.start)) bad(`windows[${i}].start`, 'HH:MM (UTC)', w.start);
    if (!HHMM.test(w.end)) bad(`windows[${i}].end`, 'HH:MM (UTC)', w.end);
    if (w.days && !w.days.every((d) => Number.isInteger(d) && d >= 0 && d <= 6)) bad(`windows[${i}].days`, 'weekdays 0 (Sunday) to 6', w.days);
  });
  return l;
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** True when actions may start at `at` (no windows = always). */
export function insideWindow(windows: readonly MaintenanceWindow[], at: Date): boolean {
  if (windows.length === 0) return true;
  const m = at.getUTCHours() * 60 + at.getUTCMinutes();
  const day = at.getUTCDay();
  return windows.some((w) => {
    const s = minutes(w.start);
    const e = minutes(w.end);
    if (s === e) return !w.days || w.days.includes(day);
    if (s < e) return m >= s && m < e && (!w.days || w.days.includes(day));
    // Wraps past midnight: the part after midnight belongs to the previous day's window.
    if (m >= s) return !w.days || w.days.includes(day);
    return m < e && (!w.days || w.days.includes((day + 6) % 7));
  });
}

/** A migration as the limits see it. */
export interface MigrationSlot {
  vmId: string;
  fromHost: string;
  toHost: string;
}

/**
 * What runs now, to decide whether one more migration may start: per host, per cluster, per VM
 * (never two actions on one VM at once) and per hour (started in the last hour, counted by the
 * caller from the store so restarts do not reset it).
 */
export class RunningSlots {
  private readonly perHost = new Map<string, number>();
  private readonly perCluster = new Map<string, number>();
  private readonly vms = new Set<string>();

  constructor(
    private readonly limits: ExecutionLimits,
    private readonly clusterOf: (hostId: string) => string,
  ) {}

  /** Why `m` may not start now, or null when it may. */
  blocker(m: MigrationSlot, startedLastHour: number, busyElsewhere: ReadonlySet<string>): string | null {
    if (this.vms.has(m.vmId) || busyElsewhere.has(m.vmId)) return `${m.vmId} has another action running`;
    if (startedLastHour >= this.limits.maxMigrationsPerHour) return `${startedLastHour} migrations started in the last hour (limit ${this.limits.maxMigrationsPerHour})`;
    for (const h of [m.fromHost, m.toHost]) {
      if ((this.perHost.get(h) ?? 0) >= this.limits.maxConcurrentPerHost) return `${h} already has ${this.limits.maxConcurrentPerHost} migrations running`;
    }
    for (const c of new Set([this.clusterOf(m.fromHost), this.clusterOf(m.toHost)])) {
      if ((this.perCluster.get(c) ?? 0) >= this.limits.maxConcurrentPerCluster) return `cluster ${c || '(default)'} already has ${this.limits.maxConcurrentPerCluster} migrations running`;
    }
    return null;
  }

  start(m: MigrationSlot): void {
    this.vms.add(m.vmId);
    for (const h of new Set([m.fromHost, m.toHost])) this.perHost.set(h, (this.perHost.get(h) ?? 0) + 1);
    for (const c of new Set([this.clusterOf(m.fromHost), this.clusterOf(m.toHost)])) this.perCluster.set(c, (this.perCluster.get(c) ?? 0) + 1);
  }

  finish(m: MigrationSlot): void {
    this.vms.delete(m.vmId);
    for (const h of new Set([m.fromHost, m.toHost])) this.perHost.set(h, (this.perHost.get(h) ?? 1) - 1);
    for (const c of new Set([this.clusterOf(m.fromHost), this.clusterOf(m.toHost)])) this.perCluster.set(c, (this.perCluster.get(c) ?? 1) - 1);
  }

  /** Migrations running per host now (for tests and metrics). */
  hostLoad(hostId: string): number {
    return this.perHost.get(hostId) ?? 0;
  }

  get running(): number {
    return this.vms.size;
  }
}
