/** Mirrors schemas/host-sample.avsc. */
export interface HostSample {
  ts: number;
  hostId: string;
  cpuUsedCores: number;
  cpuCapacityCores: number;
  memUsedBytes: number;
  memTotalBytes: number;
  diskReadBps: number;
  diskWriteBps: number;
  netRxBps: number;
  netTxBps: number;
  cpuStealPct: number;
}

/** Mirrors schemas/vm-sample.avsc. */
export interface VmSample {
  ts: number;
  hostId: string;
  vmId: string;
  cpuUsedCores: number;
  vcpus: number;
  memUsedBytes: number;
  memTotalBytes: number;
  diskReadBps: number;
  diskWriteBps: number;
  netRxBps: number;
  netTxBps: number;
  vcpuDelayPct: number;
}

export type Sample = { kind: 'host'; sample: HostSample } | { kind: 'vm'; sample: VmSample };

/** Mirrors schemas/host-tick.avsc: one host's samples of one instant, sent as one message. */
export interface HostTick {
  host: HostSample | null;
  vms: VmSample[];
}
