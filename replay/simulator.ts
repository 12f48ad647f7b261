import { NovaError } from '../core/index.ts';
import * as cpu from './cpu.ts';
import { migrationSeconds, type Experiment } from './experiment.ts';
import { capacityAfterPuts, hashIterationOrder } from './java-hash-order.ts';
import { MetricsRecorder, type SlaMetrics } from './metrics.ts';
import { HISTORY_LENGTH, type BacktestPolicy, type Migration, type TickView } from './policy.ts';
import { intervalEnergy } from './power.ts';
import { utilizationAt } from './workload.ts';

/** Options of one backtest run. */
export interface BacktestOptions {
  /** Called after every decision tick, e.g. to print progress on long runs. */
  onTick?: (tick: number, ticks: number) => void;
}

/** Figures of one run: CloudSim's printed metrics plus a few the benchmark reports. */
export interface BacktestResult extends SlaMetrics {
  policy: string;
  /** The policy's energy model ('max-power' keeps every host on for the whole run). */
  energyModel: BacktestPolicy['energyModel'];
  day: string;
  hosts: number;
  vms: number;
  /** VMs no host could take at t = 0 (they never run). */
  unplacedVms: number;
  energyKWh: number;
  /** Migrations started, duplicates included (CloudSim's count). */
  migrations: number;
  /** Migrations by the `reason` label the policy gave them. */
  migrationsByReason: Record<string, number>;
  /** VMs removed because their demand reached exactly 0 (CloudSim's "finished" rule). */
  finishedVms: number;
  activeHostHours: number;
  /** Mean number of hosts with U > 0 right after each tick's recomputation. */
  meanActiveHostsAtTicks: number;
  /** Time of the last processing instant, s. */
  lastEventTime: number;
  /** Wall-clock time of the run, ms (not comparable with CloudSim's). */
  runtimeMs: number;
}

// Local copies: imported bindings are read through getters in tsx's output, too slow for hot loops.
const allocateCpu = cpu.allocateCpu;
const ROLE_NORMAL = cpu.ROLE_NORMAL;
const ROLE_OUT = cpu.ROLE_OUT;
const ROLE_IN = cpu.ROLE_IN;

interface PendingCompletion {
  time: number;
  seq: number;
  vm: number;
  target: number;
}

/**
 * The CloudSim 3.0.3 power-datacenter loop over typed arrays: processing instants are the
 * decision ticks and migration completions; at each one every host is recomputed in id order,
 * energy of the elapsed interval is added, and VMs whose demand is exactly 0 leave for good.
 */
class Simulation implements TickView {
  readonly experiment: Experiment;
  tick = 0;
  time = 0;
  readonly vmHost: Int32Array;
  readonly requestedMips: Float64Array;
  readonly allocatedMips: Float64Array;
  readonly hostAvailableMips: Float64Array;
  readonly hostUtilizationMips: Float64Array;
  readonly hostUtilization: Float64Array;
  readonly history: Float64Array;
  readonly historyLength: Uint8Array;
  readonly cpuMapCapacity: Int32Array;

  private readonly lists: number[][];
  /** ROLE_IN for a VM migrating in at that list position, else ROLE_NORMAL (migrating out is derived from the VM's flag). */
  private readonly roles: number[][];
  private readonly vmInMigration: Uint8Array;
  private readonly vmAlive: Uint8Array;
  private readonly hostPreviousMips: Float64Array;
  private readonly past: Float64Array;
  private readonly recorder: MetricsRecorder;
  private readonly maxPower: boolean;
  private scratchAlloc = new Float64Array(64);
  private scratchRoles = new Uint8Array(64);
  private scratchOrder = new Int32Array(64);
  private readonly javaOrder: boolean;
  private lastTime = 0;
  private pending: PendingCompletion[] = [];
  private seq = 0;
  energyJoules = 0;
  migrations = 0;
  finishedVms = 0;
  activeHostTicks = 0;
  readonly byReason: Record<string, number> = {};

  constructor(experiment: Experiment, energyModel: BacktestPolicy['energyModel']) {
    this.experiment = experiment;
    const { hostCount: H, vmCount: N } = experiment;
    this.vmHost = new Int32Array(N).fill(-1);
    this.requestedMips = new Float64Array(N);
    this.allocatedMips = new Float64Array(N);
    this.hostAvailableMips = Float64Array.from(experiment.hostMips);
    this.hostUtilizationMips = new Float64Array(H);
    this.hostUtilization = new Float64Array(H);
    this.history = new Float64Array(N * HISTORY_LENGTH);
    this.historyLength = new Uint8Array(N);
    this.lists = Array.from({ length: H }, () => []);
    this.roles = Array.from({ length: H }, () => []);
    this.vmInMigration = new Uint8Array(N);
    this.vmAlive = new Uint8Array(N);
    this.hostPreviousMips = new Float64Array(H);
    this.past = new Float64Array(N * Math.max(1, experiment.ticks));
    this.recorder = new MetricsRecorder(H, N);
    this.maxPower = energyModel === 'max-power';
    this.cpuMapCapacity = new Int32Array(H).fill(16);
    this.javaOrder = experiment.cpuMapOrder === 'java-hashmap';
  }

  hostVms(h: number): readonly number[] {
    return this.lists[h]!;
  }

  pastUtilization(v: number): Float64Array {
    const T = this.experiment.ticks;
    return this.past.subarray(v * T, v * T + this.tick);
  }

  /** VM creation at t = 0, in id order (claims do not matter: the first tick recomputes everything). */
  place(hostOf: Int32Array): number {
    const { hostCount, vmCount } = this.experiment;
    if (hostOf.length !== vmCount) throw new NovaError('BACKTEST_PLACEMENT_INVALID', `initial placement has ${hostOf.length} entries for ${vmCount} VMs`);
    let unplaced = 0;
    for (let v = 0; v < vmCount; v++) {
      const h = hostOf[v]!;
      if (h < 0) {
        unplaced++;
        continue;
      }
      if (h >= hostCount) throw new NovaError('BACKTEST_PLACEMENT_INVALID', `initial placement puts VM ${v} on host ${h}, but there are ${hostCount} hosts`);
      this.lists[h]!.push(v);
      this.roles[h]!.push(ROLE_NORMAL);
      this.vmHost[v] = h;
      this.vmAlive[v] = 1;
    }
    return unplaced;
  }

  private clampedUtilization(mips: number, h: number): number {
    const u = mips / this.experiment.hostMips[h]!;
    return u > 1 && u < 1.01 ? 1 : u;
  }

  /** HostDynamicWorkload.updateVmsProcessing: CPU shares, utilisation, and history entries of one host. */
  private recompute(h: number, t: number): void {
    const exp = this.experiment;
    const list = this.lists[h]!;
    const roles = this.roles[h]!;
    const n = list.length;
    if (this.scratchAlloc.length < n) {
      this.scratchAlloc = new Float64Array(n * 2);
      this.scratchRoles = new Uint8Array(n * 2);
      this.scratchOrder = new Int32Array(n * 2);
    }
    const alloc = this.scratchAlloc;
    const effective = this.scratchRoles;
    let claims = 0;
    for (let i = 0; i < n; i++) {
      const v = list[i]!;
      effective[i] = roles[i] === ROLE_IN ? ROLE_IN : this.vmInMigration[v] === 1 ? ROLE_OUT : ROLE_NORMAL;
      claims += Math.min(this.requestedMips[v]!, exp.hostCoreMips[h]!);
    }
    // CloudSim empties and refills the host's scheduler map in list order: claims are granted in
    // list order, but an oversubscribed host sums them in the map's order.
    let sumOrder: Int32Array | null = null;
    if (this.javaOrder) {
      this.cpuMapCapacity[h] = capacityAfterPuts(list, 0, this.cpuMapCapacity[h]!, exp.vmKeyHash);
      if (claims > exp.hostMips[h]! - 1e-6) sumOrder = hashIterationOrder(list, n, this.cpuMapCapacity[h]!, exp.vmKeyHash, this.scratchOrder);
    }
    const available = allocateCpu(n, list, effective, this.requestedMips, exp.hostCoreMips[h]!, exp.hostMips[h]!, alloc, null, sumOrder);
    let used = 0;
    let requested = 0;
    for (let i = 0; i < n; i++) {
      const v = list[i]!;
      const a = alloc[i]!;
      const r = this.requestedMips[v]!;
      const role = effective[i];
      if (role === ROLE_IN) {
        used += a;
      } else {
        this.recorder.vm(v, t, a, r, role === ROLE_OUT);
        this.allocatedMips[v] = a;
        // A VM migrating out gets 90 % of its claim but the host still works for all of it.
        used += role === ROLE_OUT ? a / 0.9 : a;
      }
      requested += r;
    }
    this.hostPreviousMips[h] = this.hostUtilizationMips[h]!;
    this.hostUtilizationMips[h] = used;
    this.hostUtilization[h] = this.clampedUtilization(used, h);
    this.hostAvailableMips[h] = available;
    this.recorder.host(h, t, used, requested, used > 0);
  }

  /** Reallocates a host's CPU after a VM left it (CloudSim's vmDestroy), without a new utilisation or entries. */
  private reallocate(h: number): void {
    const exp = this.experiment;
    const list = this.lists[h]!;
    const roles = this.roles[h]!;
    const n = list.length;
    const effective = this.scratchRoles;
    for (let i = 0; i < n; i++) {
      effective[i] = roles[i] === ROLE_IN ? ROLE_IN : this.vmInMigration[list[i]!] === 1 ? ROLE_OUT : ROLE_NORMAL;
    }
    const order = this.javaOrder ? hashIterationOrder(list, n, this.cpuMapCapacity[h]!, exp.vmKeyHash, this.scratchOrder) : null;
    this.hostAvailableMips[h] = allocateCpu(n, list, effective, this.requestedMips, exp.hostCoreMips[h]!, exp.hostMips[h]!, this.scratchAlloc, order, order);
    for (let i = 0; i < n; i++) if (effective[i] !== ROLE_IN) this.allocatedMips[list[i]!] = this.scratchAlloc[i]!;
  }

  /** A processing instant: demands at t, every host recomputed, energy of (last, t], finished VMs removed. */
  processInstant(t: number, isTick: boolean): void {
    const exp = this.experiment;
    const traces = exp.workload.utilization;
    const N = exp.vmCount;
    const T = exp.ticks;
    for (let v = 0; v < N; v++) {
      if (this.vmAlive[v] === 0) continue;
      const u = utilizationAt(traces[v]!, t, exp.interval);
      this.requestedMips[v] = u * exp.vmMips[v]!;
      if (isTick) {
        const o = v * HISTORY_LENGTH;
        this.history.copyWithin(o + 1, o, o + HISTORY_LENGTH - 1);
        this.history[o] = u;
        if (this.historyLength[v]! < HISTORY_LENGTH) this.historyLength[v]!++;
        this.past[v * T + this.tick - 1] = u;
      }
    }
    const H = exp.hostCount;
    for (let h = 0; h < H; h++) this.recompute(h, t);
    const dt = t - this.lastTime;
    if (dt > 0) {
      let frame = 0;
      for (let h = 0; h < H; h++) {
        const model = exp.hostPower[h]!;
        if (this.maxPower) frame += model.maxWatts * dt;
        else frame += intervalEnergy(model, this.clampedUtilization(this.hostPreviousMips[h]!, h), this.hostUtilization[h]!, dt);
      }
      this.energyJoules += frame;
    }
    this.removeFinished();
    this.lastTime = t;
  }

  /** CloudSim removes a VM whose requested MIPS is exactly 0 (unless it is migrating), for good. */
  private removeFinished(): void {
    const H = this.experiment.hostCount;
    for (let h = 0; h < H; h++) {
      const list = this.lists[h]!;
      let removed = false;
      for (let i = 0; i < list.length; i++) {
        const v = list[i]!;
        if (this.vmInMigration[v] === 1 || this.requestedMips[v] !== 0) continue;
        list.splice(i, 1);
        this.roles[h]!.splice(i, 1);
        i--;
        this.vmAlive[v] = 0;
        this.vmHost[v] = -1;
        this.allocatedMips[v] = 0;
        this.finishedVms++;
        removed = true;
      }
      if (removed) this.reallocate(h);
    }
  }

  private indexOnHost(h: number, v: number, role: number | -1): number {
    const list = this.lists[h]!;
    const roles = this.roles[h]!;
    for (let i = 0; i < list.length; i++) if (list[i] === v && (role === -1 || roles[i] === role)) return i;
    return -1;
  }

  /** Starts a tick's migrations in plan order (PowerDatacenter: addMigratingInVm, count, schedule completion). */
  startMigrations(plan: readonly Migration[], t: number): void {
    const exp = this.experiment;
    for (const m of plan) {
      const v = m.vm;
      const target = m.target;
      if (!Number.isInteger(v) || v < 0 || v >= exp.vmCount || this.vmAlive[v] === 0) {
        throw new NovaError('BACKTEST_PLAN_INVALID', `tick ${this.tick}: the plan migrates VM ${v}, which is not running`);
      }
      if (!Number.isInteger(target) || target < 0 || target >= exp.hostCount || target === this.vmHost[v]) {
        throw new NovaError('BACKTEST_PLAN_INVALID', `tick ${this.tick}: the plan sends VM ${v} to host ${target}; a target must be another existing host`);
      }
      this.migrations++;
      const reason = m.reason ?? 'unlabelled';
      this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
      this.vmInMigration[v] = 1;
      if (this.indexOnHost(target, v, ROLE_IN) < 0) {
        this.lists[target]!.push(v);
        this.roles[target]!.push(ROLE_IN);
        this.recompute(target, t);
        this.recompute(this.vmHost[v]!, t);
      }
      this.pending.push({ time: t + migrationSeconds(exp, v, target), seq: this.seq++, vm: v, target });
    }
  }

  /** Processes the tick's migration completions, grouped by instant and in start order within one. */
  completeMigrations(): void {
    const pending = this.pending.sort((a, b) => a.time - b.time || a.seq - b.seq);
    this.pending = [];
    let i = 0;
    while (i < pending.length) {
      const t = pending[i]!.time;
      if (t > this.lastTime) this.processInstant(t, false);
      for (; i < pending.length && pending[i]!.time === t; i++) {
        const { vm: v, target } = pending[i]!;
        const source = this.vmHost[v]!;
        const at = this.indexOnHost(source, v, ROLE_NORMAL);
        if (at >= 0) {
          this.lists[source]!.splice(at, 1);
          this.roles[source]!.splice(at, 1);
        }
        const incoming = this.indexOnHost(target, v, ROLE_IN);
        if (incoming >= 0) {
          this.lists[target]!.splice(incoming, 1);
          this.roles[target]!.splice(incoming, 1);
        }
        this.lists[target]!.push(v);
        this.roles[target]!.push(ROLE_NORMAL);
        this.vmHost[v] = target;
        this.vmInMigration[v] = 0;
      }
      // CloudSim forces a second recomputation once the last completion of an instant is in (dt = 0).
      this.processInstant(t, false);
    }
  }

  countActiveHosts(): void {
    const H = this.experiment.hostCount;
    for (let h = 0; h < H; h++) if (this.hostUtilizationMips[h]! > 0) this.activeHostTicks++;
  }

  finish(): SlaMetrics {
    return this.recorder.finish();
  }

  get lastEventTime(): number {
    return this.lastTime;
  }
}

/**
 * Replays the experiment's workload through `policy` in simulated time and returns CloudSim's
 * metrics. Pure and deterministic: same experiment and policy, same result.
 */
export function runBacktest(experiment: Experiment, policy: BacktestPolicy, options: BacktestOptions = {}): BacktestResult {
  const started = performance.now();
  const sim = new Simulation(experiment, policy.energyModel);
  const unplacedVms = sim.place(policy.placeInitial(experiment));
  let t = experiment.attachTime;
  for (let k = 1; k <= experiment.ticks; k++) {
    // Each tick is scheduled interval seconds after the previous one, as CloudSim's event queue does.
    t = t + experiment.interval;
    sim.tick = k;
    sim.time = t;
    sim.processInstant(t, true);
    sim.countActiveHosts();
    const plan = policy.plan(sim);
    if (plan.length > 0) {
      sim.startMigrations(plan, t);
      sim.completeMigrations();
    }
    options.onTick?.(k, experiment.ticks);
  }
  const metrics = sim.finish();
  return {
    policy: policy.name,
    energyModel: policy.energyModel,
    day: experiment.workload.day,
    hosts: experiment.hostCount,
    vms: experiment.vmCount,
    unplacedVms,
    energyKWh: sim.energyJoules / (3600 * 1000),
    migrations: sim.migrations,
    migrationsByReason: { ...sim.byReason },
    finishedVms: sim.finishedVms,
    activeHostHours: metrics.activeHostSeconds / 3600,
    meanActiveHostsAtTicks: experiment.ticks > 0 ? sim.activeHostTicks / experiment.ticks : 0,
    lastEventTime: sim.lastEventTime,
    runtimeMs: performance.now() - started,
    ...metrics,
  };
}
