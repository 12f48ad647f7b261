import { mean, sampleStdDev } from './stats.ts';

/**
 * Running form of CloudSim's state histories and Helper.printResults metrics. Each host and VM
 * has a pending entry (an entry with the same timestamp replaces it, as in CloudSim); it is
 * final once an entry with a later time arrives, and a final entry closes the interval opened
 * by the one before it. A history's last entry opens no interval.
 */
export class MetricsRecorder {
  private readonly hostPend: Float64Array; // t, allocated, requested, active (4 per host)
  private readonly hostHasPend: Uint8Array;
  private readonly hostPrev: Float64Array;
  private readonly hostHasPrev: Uint8Array;
  private readonly hostWasActive: Uint8Array;
  private readonly hostLastOn: Float64Array;
  private readonly hostActiveTime: Float64Array;
  private readonly hostViolationTime: Float64Array;
  private readonly shutdownGaps: number[] = [];

  private readonly vmPend: Float64Array; // t, allocated, requested, migrating-out (4 per VM)
  private readonly vmHasPend: Uint8Array;
  private readonly vmPrev: Float64Array;
  private readonly vmHasPrev: Uint8Array;
  private readonly vmWasMigrating: Uint8Array;
  private readonly vmMigrationStart: Float64Array;
  private readonly vmAllocatedMipsSeconds: Float64Array;
  private readonly vmRequestedMipsSeconds: Float64Array;
  private readonly vmMigrationShortfall: Float64Array;
  private slaViolationSum = 0;
  private slaViolationCount = 0;
  private readonly migrationTimes: number[] = [];

  constructor(readonly hostCount: number, readonly vmCount: number) {
    this.hostPend = new Float64Array(hostCount * 4);
    this.hostHasPend = new Uint8Array(hostCount);
    this.hostPrev = new Float64Array(hostCount * 4);
    this.hostHasPrev = new Uint8Array(hostCount);
    // CloudSim's shutdown count starts from "active": a host idle at its first entry counts once.
    this.hostWasActive = new Uint8Array(hostCount).fill(1);
    this.hostLastOn = new Float64Array(hostCount);
    this.hostActiveTime = new Float64Array(hostCount);
    this.hostViolationTime = new Float64Array(hostCount);
    this.vmPend = new Float64Array(vmCount * 4);
    this.vmHasPend = new Uint8Array(vmCount);
    this.vmPrev = new Float64Array(vmCount * 4);
    this.vmHasPrev = new Uint8Array(vmCount);
    this.vmWasMigrating = new Uint8Array(vmCount);
    this.vmMigrationStart = new Float64Array(vmCount);
    this.vmAllocatedMipsSeconds = new Float64Array(vmCount);
    this.vmRequestedMipsSeconds = new Float64Array(vmCount);
    this.vmMigrationShortfall = new Float64Array(vmCount);
  }

  /** A host state entry: time, allocated (used) MIPS, requested MIPS, active. */
  host(h: number, t: number, allocated: number, requested: number, active: boolean): void {
    const o = h * 4;
    if (this.hostHasPend[h] === 1) {
      if (this.hostPend[o] !== t) this.finalHost(h);
    }
    this.hostPend[o] = t;
    this.hostPend[o + 1] = allocated;
    this.hostPend[o + 2] = requested;
    this.hostPend[o + 3] = active ? 1 : 0;
    this.hostHasPend[h] = 1;
  }

  /** A VM state entry: time, allocated MIPS, requested MIPS, migrating out of this host. */
  vm(v: number, t: number, allocated: number, requested: number, migrating: boolean): void {
    const o = v * 4;
    if (this.vmHasPend[v] === 1) {
      if (this.vmPend[o] !== t) this.finalVm(v);
    }
    this.vmPend[o] = t;
    this.vmPend[o + 1] = allocated;
    this.vmPend[o + 2] = requested;
    this.vmPend[o + 3] = migrating ? 1 : 0;
    this.vmHasPend[v] = 1;
  }

  private finalHost(h: number): void {
    const o = h * 4;
    const t = this.hostPend[o]!;
    const active = this.hostPend[o + 3] === 1;
    if (this.hostHasPrev[h] === 1 && this.hostPrev[o + 3] === 1) {
      const dt = t - this.hostPrev[o]!;
      this.hostActiveTime[h] = this.hostActiveTime[h]! + dt;
      if (this.hostPrev[o + 1]! < this.hostPrev[o + 2]!) this.hostViolationTime[h] = this.hostViolationTime[h]! + dt;
    }
    if (this.hostWasActive[h] === 1 && !active) this.shutdownGaps.push(t - this.hostLastOn[h]!);
    if (this.hostWasActive[h] === 0 && active) this.hostLastOn[h] = t;
    this.hostWasActive[h] = active ? 1 : 0;
    this.hostPrev[o] = t;
    this.hostPrev[o + 1] = this.hostPend[o + 1]!;
    this.hostPrev[o + 2] = this.hostPend[o + 2]!;
    this.hostPrev[o + 3] = active ? 1 : 0;
    this.hostHasPrev[h] = 1;
    this.hostHasPend[h] = 0;
  }

  private finalVm(v: number): void {
    const o = v * 4;
    const t = this.vmPend[o]!;
    const migrating = this.vmPend[o + 3] === 1;
    if (this.vmHasPrev[v] === 1) {
      const dt = t - this.vmPrev[o]!;
      const a = this.vmPrev[o + 1]!;
      const r = this.vmPrev[o + 2]!;
      this.vmAllocatedMipsSeconds[v] = this.vmAllocatedMipsSeconds[v]! + a * dt;
      this.vmRequestedMipsSeconds[v] = this.vmRequestedMipsSeconds[v]! + r * dt;
      if (a < r) {
        this.slaViolationSum += (r - a) / r;
        this.slaViolationCount++;
        if (this.vmPrev[o + 3] === 1) this.vmMigrationShortfall[v] = this.vmMigrationShortfall[v]! + (r - a) * dt;
      }
    }
    if (this.vmWasMigrating[v] === 1 && !migrating) this.migrationTimes.push(t - this.vmMigrationStart[v]!);
    if (this.vmWasMigrating[v] === 0 && migrating) this.vmMigrationStart[v] = t;
    this.vmWasMigrating[v] = migrating ? 1 : 0;
    this.vmPrev[o] = t;
    this.vmPrev[o + 1] = this.vmPend[o + 1]!;
    this.vmPrev[o + 2] = this.vmPend[o + 2]!;
    this.vmPrev[o + 3] = migrating ? 1 : 0;
    this.vmHasPrev[v] = 1;
    this.vmHasPend[v] = 0;
  }

  /** Closes every history and computes the metrics. */
  finish(): SlaMetrics {
    for (let h = 0; h < this.hostCount; h++) if (this.hostHasPend[h] === 1) this.finalHost(h);
    for (let v = 0; v < this.vmCount; v++) if (this.vmHasPend[v] === 1) this.finalVm(v);
    let activeTime = 0;
    let violationTime = 0;
    for (let h = 0; h < this.hostCount; h++) {
      activeTime += this.hostActiveTime[h]!;
      violationTime += this.hostViolationTime[h]!;
    }
    let allocated = 0;
    let requested = 0;
    let shortfall = 0;
    for (let v = 0; v < this.vmCount; v++) {
      allocated += this.vmAllocatedMipsSeconds[v]!;
      requested += this.vmRequestedMipsSeconds[v]!;
      shortfall += this.vmMigrationShortfall[v]!;
    }
    const slatah = activeTime > 0 ? violationTime / activeTime : 0;
    const pdm = requested > 0 ? shortfall / requested : 0;
    return {
      slatah,
      pdm,
      slav: slatah * pdm,
      overallSlaViolation: requested > 0 ? (requested - allocated) / requested : 0,
      averageSlaViolation: this.slaViolationCount === 0 ? 0 : this.slaViolationSum / this.slaViolationCount,
      activeHostSeconds: activeTime,
      hostShutdowns: this.shutdownGaps.length,
      meanTimeBeforeHostShutdown: mean(this.shutdownGaps),
      stdDevTimeBeforeHostShutdown: sampleStdDev(this.shutdownGaps),
      meanMigrationTime: mean(this.migrationTimes),
      stdDevMigrationTime: sampleStdDev(this.migrationTimes),
    };
  }
}

/** CloudSim's SLA figures, as fractions (multiply by 100 for the printed %). */
export interface SlaMetrics {
  /** SLA violation time per active host: time active hosts had allocated < requested MIPS / time hosts were active (pooled). */
  slatah: number;
  /** Performance degradation due to migration: MIPS·s VMs lost while migrating out / MIPS·s requested (pooled). */
  pdm: number;
  /** SLATAH × PDM (CloudSim prints it as "SLA"). */
  slav: number;
  /** (requested − allocated) / requested over all VM intervals. */
  overallSlaViolation: number;
  /** Unweighted mean of (R − A)/R over VM intervals with A < R. */
  averageSlaViolation: number;
  /** Σ over hosts of the time they were active (the SLATAH denominator). */
  activeHostSeconds: number;
  /** Active → inactive transitions, counting a host idle at its first entry once. */
  hostShutdowns: number;
  meanTimeBeforeHostShutdown: number;
  stdDevTimeBeforeHostShutdown: number;
  /** What CloudSim prints as "mean time before a VM migration": in fact the mean migration duration. */
  meanMigrationTime: number;
  stdDevMigrationTime: number;
}
