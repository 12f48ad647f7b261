/** How a forecast was made; the scheduler records it in each action's explanation. */
/** 'quantile-mlp': the registry's promoted TF.js model (its p95 fields hold the policy's quantile). */
export type ForecastMethod = 'seasonal-naive' | 'ewma' | 'last-value' | 'quantile-mlp';

/** Predicted demand of one VM over the next horizon. */
export interface VmForecast {
  vmId: string;
  /** Host the VM ran on in its latest sample. */
  hostId: string;
  /** CPU capacity of the VM (cores) and its memory size, from its latest sample. */
  vcpus: number;
  memTotalBytes: number;
  /** Predicted 95th percentile of CPU used over the horizon, in cores. */
  p95CpuCores: number;
  /** Predicted 95th percentile of memory used over the horizon, in bytes. */
  p95MemBytes: number;
  horizonMinutes: number;
  method: ForecastMethod;
  /** Samples of history the forecast used. */
  historyPoints: number;
}
