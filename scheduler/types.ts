/** Capacity of one host, from its latest sample. */
export interface HostCapacity {
  hostId: string;
  cpuCores: number;
  memBytes: number;
}

/** What one VM is predicted to need, and where it runs now. */
export interface VmDemand {
  vmId: string;
  hostId: string;
  /** Predicted p95 CPU over the planning horizon, in cores. */
  cpuCores: number;
  /** Memory to reserve on a host (the VM's configured size: memory is not overcommitted by default). */
  memBytes: number;
  /** Free-text provenance of the cpu figure (forecast method), carried into explanations. */
  source?: string;
}

export interface FleetSnapshot {
  takenAt: number;
  hosts: HostCapacity[];
  vms: VmDemand[];
}

export interface ConsolidationPolicy {
  /** Fraction of a host's cores that predicted demand may fill (e.g. 0.8). */
  cpuTargetUtilization: number;
  /** Fraction of a host's memory that VMs may reserve (1.0 = no overcommit). */
  memTargetUtilization: number;
}

export const DEFAULT_POLICY: ConsolidationPolicy = Object.freeze({ cpuTargetUtilization: 0.8, memTargetUtilization: 1.0 });

export interface MigrateAction {
  kind: 'migrate';
  vmId: string;
  fromHost: string;
  toHost: string;
  cpuCores: number;
  memBytes: number;
  /** Why, with the numbers a person needs to approve it. */
  reason: string;
}

export interface PowerOffAction {
  kind: 'power-off';
  hostId: string;
  reason: string;
}

export type PlannedAction = MigrateAction | PowerOffAction;

export interface HostLoad {
  hostId: string;
  cpuCores: number;
  memBytes: number;
  cpuCapacity: number;
  memCapacity: number;
  vmCount: number;
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
  /** VMs that fit nowhere under the policy: they stay where they are, and are reported. */
  unplaced: string[];
}
