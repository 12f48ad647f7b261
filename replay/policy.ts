import type { Experiment } from './experiment.ts';

/** Length of CloudSim's per-VM utilisation history (PowerVm.HISTORY_LENGTH). */
export const HISTORY_LENGTH = 30;

/**
 * What a policy sees at a decision tick, after the tick's recomputation and the removal of
 * finished VMs. No migration is in flight at a tick (they all finish within 28 s). Arrays are
 * the simulator's own: read them, never write them. Nothing here looks past the current tick.
 */
export interface TickView {
  readonly experiment: Experiment;
  /** Tick number k (1-based). */
  readonly tick: number;
  /** Simulated time of the tick, s (300·k + 0.1). */
  readonly time: number;
  /** Host each VM runs on; −1 once the VM has finished (or was never placed). */
  readonly vmHost: Int32Array;
  /** Requested MIPS R_v = u_v(t)·MIPS_v at this tick (uncapped). */
  readonly requestedMips: Float64Array;
  /** MIPS allocated to each VM on its host at this tick. */
  readonly allocatedMips: Float64Array;
  /** MIPS not claimed on each host (0 when oversubscribed). */
  readonly hostAvailableMips: Float64Array;
  /** MIPS each host is using (its utilisation times its capacity). */
  readonly hostUtilizationMips: Float64Array;
  /** Each host's CPU utilisation in [0, 1] (0 = switched off). */
  readonly hostUtilization: Float64Array;
  /** CloudSim's per-VM utilisation history: `HISTORY_LENGTH` slots per VM, newest first. */
  readonly history: Float64Array;
  /** Number of valid history slots per VM (min(tick, 30)). */
  readonly historyLength: Uint8Array;
  /** VMs on host h in CloudSim's list order (order of arrival). */
  hostVms(h: number): readonly number[];
  /**
   * Capacity of each host's CPU-scheduler HashMap, for planners that reproduce CloudSim's
   * rounding (experiment.cpuMapOrder = 'java-hashmap'). It grows when a planner's tentative
   * placements put more VMs on a host, as it does in CloudSim; other policies ignore it.
   */
  readonly cpuMapCapacity: Int32Array;
  /** Every utilisation sample VM v had at ticks 1..tick, oldest first (what a forecaster may learn from). */
  pastUtilization(v: number): Float64Array;
}

/** One live migration to start: VM `vm` to host `target`. */
export interface Migration {
  readonly vm: number;
  readonly target: number;
  /** Free-form label counted in the result (e.g. 'overload', 'underload'). */
  readonly reason?: string;
}

/**
 * A consolidation policy under test. One instance serves one run (it may keep state between
 * ticks); `plan` is called once per tick, in time order. Deterministic: same inputs, same plan.
 */
export interface BacktestPolicy {
  readonly name: string;
  /** 'power-model' charges each host its SPECpower curve (off = 0 W); 'max-power' charges every host its maximum all the time (the non-power-aware baseline). */
  readonly energyModel: 'power-model' | 'max-power';
  /** Host of each VM at t = 0 (−1 = could not be placed). */
  placeInitial(experiment: Experiment): Int32Array;
  /** Migrations to start at this tick, executed in order. The same VM may appear twice (CloudSim does that). */
  plan(view: TickView): readonly Migration[];
}
