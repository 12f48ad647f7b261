import type { CatalogInstance } from './catalog.ts';

/** How a cloud instance is billed: on-demand, or spot (cheaper, but the provider may reclaim it). */
export type Pricing = 'on-demand' | 'spot';

/** The catalog offer a cloud VM runs on, and how it is billed. */
export interface InstanceRef {
  provider: string;
  region: string;
  /** The zone it runs in; looked up as that zone's offer first, then the region-wide one. */
  zone?: string;
  instanceType: string;
  pricing: Pricing;
}

/**
 * Which offers a VM may use; an absent list allows everything. A zonal offer (one with a zone)
 * needs its zone in `allowedZones`; a region-wide offer is priced for any zone of its region, so
 * under a zone restriction it passes only when its region is in `allowedRegions` (zone names do
 * not say which region they belong to on every provider).
 */
export interface CloudConstraints {
  allowedProviders?: readonly string[];
  allowedRegions?: readonly string[];
  allowedZones?: readonly string[];
  /** Spot capacity may be reclaimed: only when true are spot prices considered. Default false. */
  spotAllowed?: boolean;
}

/** What an instance must hold: vCPUs and memory in bytes. */
export interface InstanceNeed {
  vcpus: number;
  memBytes: number;
}

/** An offer picked for a VM, with the billing and hourly price it was picked at. */
export interface InstanceChoice {
  instance: CatalogInstance;
  pricing: Pricing;
  /** Price per hour in the catalog's currency. */
  pricePerHour: number;
}

/** A VM running in the cloud, with its predicted demand (for bringing it back on-prem). */
export interface CloudVm {
  vmId: string;
  instance: InstanceRef;
  /** Predicted p95 CPU over the horizon, in cores (what an on-prem host must hold). */
  cpuCores: number;
  /** Memory to reserve on a host: the VM's configured size (no overcommit). */
  memBytes: number;
  /** Provenance of the cpu figure (forecast method), carried into explanations. */
  source?: string;
  /** When given, only these on-prem hosts may take it back. */
  allowedHosts?: readonly string[];
  /** CPU used per sample, in cores, oldest first: with memUsedHistory, what rightsizing sizes it from. */
  cpuHistory?: readonly number[];
  /** Memory actively used per sample, bytes, oldest first. */
  memUsedHistory?: readonly number[];
}
