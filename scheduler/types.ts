import type { BurstProfile, CloudConstraints, CloudVm, HostProfiles, InstanceCatalog, PlanCost, RightsizingPolicy } from './cost/index.ts';

/** Capacity of one host, from its latest sample. */
export interface HostCapacity {
  hostId: string;
  cpuCores: number;
  memBytes: number;
  /** Cluster (migration domain) of the host: VMs only move within their cluster, under its targets. Default: one unnamed cluster. */
  cluster?: string;
  /** A host in maintenance must be evacuated and never receives a VM. */
  maintenance?: boolean;
  /** Power drawn idle and at full CPU, in watts, for the linear power model (default: the policy's hostIdleWatts / hostMaxWatts). */
  idleWatts?: number;
  maxWatts?: number;
  /**
   * Measured power curve: watts at 0 %, 10 %, …, 100 % CPU (11 points, non-decreasing), linear
   * between them (SPECpower style). When given it replaces idleWatts/maxWatts.
   */
  powerCurveWatts?: readonly number[];
  /** CPU one physical core gives, in the unit of cpuCores (default 1): a VM with n vCPUs uses at most n of them. */
  coreCapacity?: number;
  /** Bandwidth a live migration into this host gets, bytes per second (default: the policy's migrationBandwidthBytesPerSec). */
  migrationBandwidthBytesPerSec?: number;
}

/**
 * One VM: where it runs, what it uses, and its recent CPU demand. With `cpuHistory` the planner
 * forecasts the VM itself (models' next-interval forecaster); without it, `cpuCores` (or
 * `cpuQuantiles`) is taken as the forecast: a what-if, or a VM too new to have a history.
 */
export interface VmDemand {
  vmId: string;
  hostId: string;
  /** CPU the VM uses now (its latest sample), in cores; without cpuHistory also its forecast at every quantile. */
  cpuCores: number;
  /** Recent CPU demand in cores, oldest first, one sample per snapshot.stepSeconds; the latest should equal cpuCores. */
  cpuHistory?: readonly number[];
  /** Memory to reserve on a host (the VM's configured size: memory is not overcommitted by default). */
  memBytes: number;
  /** Bytes a live migration sends (default memBytes). */
  transferBytes?: number;
  /** vCPUs: the VM uses at most this many of a host's cores (default: no per-core limit). */
  vcpus?: number;
  /** The CPU the VM is configured for, in cores (default vcpus, else its largest sample): the forecaster measures errors relative to it. */
  cpuSizeCores?: number;
  /** Free-text provenance of the cpu figure (e.g. the telemetry source), carried into explanations. */
  source?: string;
  /** A forecast made elsewhere (no cpuHistory): CPU at several quantiles of the horizon, in cores, keyed `p50`, `p90`, …. */
  cpuQuantiles?: Readonly<Record<string, number>>;
  /** Bytes of memory the VM dirties per second: live migration re-sends them (default 0). */
  dirtyRateBytesPerSec?: number;
  /**
   * Memory the VM actively uses, in bytes, oldest first, one sample per snapshot.stepSeconds (like
   * cpuHistory). Only rightsizing reads it: with cpuHistory, at least the rightsizing policy's
   * minSamples of each, and a vCPU count, the plan's cost section recommends a size for the VM.
   */
  memUsedHistory?: readonly number[];
  /**
   * The VM's size as configured in the hypervisor, for rightsizing, where it differs from what the
   * planner reserves (`vcpus`, `memBytes`): e.g. a replay that lets no memory bind. Absent fields
   * default to vcpus and memBytes; `cpuCoresPerVcpu` is the CPU of one vCPU in the unit of
   * cpuCores/cpuHistory (default 1).
   */
  configured?: VmConfiguredSize;
}

/** A VM's configured size, for rightsizing (see VmDemand.configured). */
export interface VmConfiguredSize {
  vcpus?: number;
  memBytes?: number;
  cpuCoresPerVcpu?: number;
}

/** Burst-out and repatriation settings of a snapshot's cost inputs (defaults: DEFAULT_BURST_POLICY). */
export interface CostBurstSettings {
  /** How long a burst is priced for, hours (default 24). */
  horizonHours?: number;
  /** Offers a bursting VM may use (default: any, on-demand only; `spotAllowed: true` lets spot compete). */
  constraints?: CloudConstraints;
  /** A cloud VM comes back only when that saves more than this per month (default 0). */
  minMonthlySavings?: number;
}

/**
 * What the cost recommendations of a plan need beyond the moves (all optional, all plain JSON, so
 * a snapshot with them saves to a file and replans to the identical plan). See scheduler/cost/README.md.
 */
export interface CostInputs {
  /** Instance catalog (format of scheduler/cost/catalog.ts): prices of cloud VMs, bursts and rightsizing offers. */
  catalog?: InstanceCatalog;
  /** On-prem VMs allowed to run in the cloud, by VM id, with the vCPUs their instance needs (opt-in). */
  burstable?: Readonly<Record<string, BurstProfile>>;
  /** VMs running in the cloud now (not in `vms`): rightsized, and repatriated when on-prem holds them for less. */
  cloudVms?: readonly CloudVm[];
  /** On-prem host cost profiles (amortisation, power, price per kWh): repatriation prices the extra power with them. */
  hostProfiles?: HostProfiles;
  /** Burst-out and repatriation settings. */
  burst?: CostBurstSettings;
  /** Rightsizing settings over DEFAULT_RIGHTSIZING_POLICY. */
  rightsizing?: Partial<RightsizingPolicy>;
}

/** How strongly a rule binds: a `must` rule is never broken by the plan, a `should` rule is honoured when possible and reported when not. */
export type RuleStrength = 'must' | 'should';

/** VM-VM rule: the VMs share one host (`affinity`) or no two of them share a host (`anti-affinity`). */
export interface VmAffinityRule {
  /** Name used in reports (default: derived from kind, strength and VMs). */
  id?: string;
  kind: 'affinity' | 'anti-affinity';
  strength: RuleStrength;
  /** VM ids; VMs missing from the snapshot are ignored. */
  vms: readonly string[];
}

/** VM-host rule: the VM runs on one of `hosts` (`affinity`) or on none of them (`anti-affinity`). */
export interface VmHostRule {
  /** Name used in reports (default: derived from kind, strength, VM and hosts). */
  id?: string;
  vm: string;
  hosts: readonly string[];
  kind: 'affinity' | 'anti-affinity';
  strength: RuleStrength;
}

/** A migration already carried out (by an earlier plan or by hand), for hysteresis and the hourly budget. */
export interface RecentMove {
  vmId: string;
  fromHost: string;
  toHost: string;
  /** When it completed, epoch milliseconds. */
  at: number;
}

/** What the planner plans over: hosts, VMs and their predicted demand, rules and recent history. */
export interface FleetSnapshot {
  /** When the samples end, epoch milliseconds; recent moves are aged against it. No other clock is read. */
  takenAt: number;
  /** Seconds between two samples of a VM's cpuHistory (default 300); one step is the horizon of a plan. */
  stepSeconds?: number;
  hosts: HostCapacity[];
  vms: VmDemand[];
  /** VM-VM affinity and anti-affinity rules (default none). */
  vmRules?: readonly VmAffinityRule[];
  /** VM-host affinity and anti-affinity rules (default none). */
  hostRules?: readonly VmHostRule[];
  /** Recent migrations, newest or oldest first (order does not matter); default none. */
  recentMoves?: readonly RecentMove[];
  /** Inputs of the plan's cost recommendations (rightsizing, burst-out, repatriation, spot); default none. */
  cost?: CostInputs;
}

/** Per-cluster overrides of the policy's targets (its overcommit ratios). */
export interface ClusterTargets {
  cpuTargetUtilization?: number;
  memTargetUtilization?: number;
}

/**
 * How tightly to pack, when to act, within which budgets, and how to weigh savings against
 * migration cost. Only the two targets are required; every other field has a default
 * (POLICY_DEFAULTS), the same for the live cycle, the replays and every what-if.
 */
export interface ConsolidationPolicy {
  /** Fraction of a host's CPU that the predicted cpuQuantile of its next-interval demand may fill (default 0.97). */
  cpuTargetUtilization: number;
  /** Fraction of a host's memory that VMs may reserve (1.0 = no overcommit). */
  memTargetUtilization: number;
  /** Targets per cluster name; a cluster not listed uses the two fields above. */
  clusters?: Readonly<Record<string, ClusterTargets>>;
  /** Quantile of a host's next-interval demand that placements keep under the CPU target (default 'p90'). */
  cpuQuantile?: string;
  /** A host is relieved when this quantile of its demand exceeds its capacity, or it is short now (default 'p50': more likely than not). */
  reliefQuantile?: string;
  /** Hosts whose cpuQuantile is below this fraction of their CPU are emptied when their VMs fit elsewhere (default 0.75). */
  underloadUtilization?: number;
  /** A host that received a VM within this many minutes is not emptied (default 30). */
  settleMinutes?: number;
  /** Most migrations one plan may contain (default unlimited). */
  maxMigrationsPerPlan?: number;
  /** Most migrations running at once: the plan's moves are grouped into waves of at most this many (default unlimited). */
  maxConcurrentMigrations?: number;
  /** Most migrations in any hour, counting the snapshot's recentMoves of the last hour (default unlimited). */
  maxMigrationsPerHour?: number;
  /** A VM moved within this many minutes stays put (unless its host is overloaded, in maintenance or breaks a must-rule) and never returns to the host it left (default 60). */
  hysteresisMinutes?: number;
  /** Live-migration bandwidth for hosts that do not state their own, bytes per second (default 1.25e9, 10 Gbit/s). */
  migrationBandwidthBytesPerSec?: number;
  /** Longest a migration is assumed to take, in seconds, reached by VMs that dirty memory as fast as it is sent (default 300). */
  maxMigrationSeconds?: number;
  /** Linear host power model, for hosts that do not give their own (defaults 150 W idle, 400 W at full CPU). */
  hostIdleWatts?: number;
  hostMaxWatts?: number;
  /** What one host-second of degraded performance during a migration is worth, in watt-seconds (default 400). */
  degradationWatts?: number;
  /** How long the plan's effect is counted for savings and for benefit-vs-cost, in hours (default 1). */
  horizonHours?: number;
}

/** The product's policy: every optional field at its default (POLICY_DEFAULTS). */
export const DEFAULT_POLICY: ConsolidationPolicy = Object.freeze({ cpuTargetUtilization: 0.97, memTargetUtilization: 1.0 });

/** Why a VM moves, in priority order for the migration budget. */
export type MoveCause = 'maintenance' | 'must-rule' | 'overload' | 'consolidate';

/** Live-migrate one VM. */
export interface MigrateAction {
  kind: 'migrate';
  vmId: string;
  fromHost: string;
  toHost: string;
  cpuCores: number;
  memBytes: number;
  /** Why, with the numbers a person needs to approve it. */
  reason: string;
  /** The main cause of the move. */
  cause?: MoveCause;
  /** Estimated live-migration time, seconds: memory / (bandwidth − dirty rate), capped. */
  estimatedSeconds?: number;
  /** Its cost: two hosts degraded for estimatedSeconds, in watt-hours at the policy's degradationWatts. */
  costWh?: number;
  /** Index of the wave (in ActionPlan.waves) the move runs in. */
  wave?: number;
}

/** Switch off a host the plan empties. */
export interface PowerOffAction {
  kind: 'power-off';
  hostId: string;
  reason: string;
  /** Fleet power saved by switching it off, watts (its draw minus what its VMs add elsewhere). */
  savedWatts?: number;
  /** Summed cost of the migrations that emptied it, watt-hours. */
  migrationCostWh?: number;
}

/** One step of a plan. */
export type PlannedAction = MigrateAction | PowerOffAction;

/** Predicted load of a host after the plan, against its raw capacity. */
export interface HostLoad {
  hostId: string;
  cpuCores: number;
  memBytes: number;
  cpuCapacity: number;
  memCapacity: number;
  vmCount: number;
}

/** What the plan is expected to save over the policy's horizon. */
export interface PlanSavings {
  /** Hosts powered off. */
  hosts: number;
  /** Fleet power before minus after, watts (linear power model). */
  watts: number;
  horizonHours: number;
  /** watts × horizonHours, in kWh. */
  kWh: number;
  /** Summed cost of the plan's migrations, Wh. */
  migrationCostWh: number;
  /** kWh minus the migration cost. */
  netKWh: number;
}

/** The most loaded host after the plan, in one dimension. */
export interface HostPeak {
  hostId: string;
  /** Predicted load / raw capacity. */
  utilization: number;
  /** The host's (cluster's) target for that dimension. */
  target: number;
}

/** What could go wrong, for the person approving the plan. */
export interface PlanRisk {
  /** Host with the highest CPU (memory) load relative to its target after the plan; null on an empty fleet. */
  peakCpu: HostPeak | null;
  peakMem: HostPeak | null;
  /** Hosts whose predicted quantile stays over their target after the plan (sorted); relief waits until a host is overloaded. */
  hostsOverTarget: string[];
  /** Hosts still overloaded after the plan (short of CPU now, or by the relief quantile): nothing could take their VMs (sorted). */
  hostsOverloaded: string[];
  /** Hosts in maintenance still running VMs after the plan (sorted). */
  maintenanceNotEvacuated: string[];
  /** Rules broken after the plan (see ActionPlan.violations). */
  mustViolations: number;
  shouldViolations: number;
  /** Summed estimated migration time, seconds, and the plan's duration (each wave lasts as long as its longest migration). */
  migrationSeconds: number;
  durationSeconds: number;
  /** Moved VMs whose dirty rate reaches the bandwidth: their time is the cap, and they may need post-copy or a pause (sorted). */
  nonConverging: string[];
}

/** A rule broken after the plan. */
export interface RuleViolation {
  rule: string;
  /** `vm`: a VM-VM rule; `host`: a VM-host rule. */
  scope: 'vm' | 'host';
  kind: 'affinity' | 'anti-affinity';
  strength: RuleStrength;
  /** VMs breaking it and the hosts they run on after the plan (sorted). */
  vms: string[];
  hosts: string[];
  /** True when the current placement already broke it (the plan could not, or chose not to, fix it). */
  preExisting: boolean;
}

/** A move the planner wanted but left out: the VM stays where it is. */
export interface DeferredMove {
  vmId: string;
  fromHost: string;
  toHost: string;
  /** Over a migration budget (the only reason today: a planned move never needs another to make its room). */
  why: 'budget';
}

/** How much of the migration budget the plan uses. */
export interface PlanBudget {
  /** Migrations this plan could make: the tighter of maxMigrationsPerPlan and what maxMigrationsPerHour leaves; null = unlimited. */
  allowed: number | null;
  used: number;
  /** Recent migrations counted against maxMigrationsPerHour. */
  recentInLastHour: number;
  maxConcurrent: number | null;
}

/** A consolidation plan: what to move, what to switch off, and what it saves. */
export interface ActionPlan {
  createdAt: number;
  policy: ConsolidationPolicy;
  actions: PlannedAction[];
  /** Hosts running at least one VM, before and after the plan. */
  hostsBefore: number;
  hostsAfter: number;
  hostsSaved: number;
  /** Load of every host that runs VMs after the plan. */
  loadAfter: HostLoad[];
  /** VMs that fit nowhere under the policy and its must-rules: they stay where they are, and are reported. */
  unplaced: string[];
  /** Migrations grouped for maxConcurrentMigrations: each wave lists indices into `actions`; power-offs follow the last wave. */
  waves?: number[][];
  expectedSavings?: PlanSavings;
  risk?: PlanRisk;
  /** Every rule broken after the plan, must and should (sorted by rule). */
  violations?: RuleViolation[];
  /** Moves left out by the budget or for want of a safe order (sorted by VM). */
  deferred?: DeferredMove[];
  budget?: PlanBudget;
  /**
   * Cost recommendations (rightsizing, burst-out, repatriation, spot vs on-demand) beside the moves;
   * present when the snapshot carries `cost` inputs or VMs with a memUsedHistory, absent otherwise.
   */
  cost?: PlanCost;
}

/** The plan planFleet returns: an ActionPlan with every explanatory field filled in. */
export type ConsolidationPlan = ActionPlan & Required<Pick<ActionPlan, 'waves' | 'expectedSavings' | 'risk' | 'violations' | 'deferred' | 'budget'>>;
