import { basename, join } from 'node:path';
import { NovaError } from '../core/index.ts';
import { DEFAULT_RIGHTSIZING_POLICY, HOURS_PER_MONTH, type BurstProfile, type ConsolidationPlan, type FleetSnapshot, type InstanceCatalog, type VmDemand } from '../scheduler/index.ts';
import { listBitbrainsFiles, readBitbrainsFile } from '../traces/index.ts';
import type { BitbrainsReplay } from './bitbrains-experiment.ts';
import { MIPS_PER_CORE, type PlannerPolicyOptions } from './planner-policy.ts';
import type { TickView } from './policy.ts';

/**
 * The cost side of NovaCron's plans in the Bitbrains replay. Each tick's snapshot gets what the
 * live cycle would know about these VMs beyond their CPU: configured vCPUs and memory, the memory
 * they actively use (same samples as their cpuHistory), every VM burstable at its configured size,
 * and an instance catalog. The plans' cost sections are collected; nothing here changes a move.
 */

const GIB = 1024 ** 3;
const KB = 1024;

/** Each VM file's provisioned memory (the largest of its measured rows), KB, keyed `<month>/<file>`. */
export function readBitbrainsProvisionedMemoryKb(folder: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of listBitbrainsFiles(folder)) {
    const name = `${basename(folder)}/${file}`;
    const table = readBitbrainsFile(join(folder, file), name);
    let kb = 0;
    for (let i = 0; i < table.time.length; i++) if (table.capacityMhz[i]! > 0) kb = Math.max(kb, table.memCapacityKb[i]!);
    out.set(name, kb);
  }
  return out;
}

/** Price per vCPU-hour and per GiB-hour that best fit a catalog's on-demand prices (least squares, no intercept). */
export interface CatalogRates {
  perVcpuHour: number;
  perGiBHour: number;
  offers: number;
}

/** Fits on-demand price ≈ a·vCPUs + b·GiB over every offer of the catalog. */
export function catalogRates(catalog: InstanceCatalog): CatalogRates {
  let vv = 0;
  let vm = 0;
  let mm = 0;
  let vp = 0;
  let mp = 0;
  for (const it of catalog.instances) {
    vv += it.vcpus * it.vcpus;
    vm += it.vcpus * it.memoryGiB;
    mm += it.memoryGiB * it.memoryGiB;
    vp += it.vcpus * it.onDemandPerHour;
    mp += it.memoryGiB * it.onDemandPerHour;
  }
  const det = vv * mm - vm * vm;
  if (!(Math.abs(det) > 1e-12)) throw new NovaError('BACKTEST_OPTION_INVALID', 'the catalog cannot price vCPUs and memory apart (its offers all have one vCPU:GiB ratio)');
  return { perVcpuHour: (vp * mm - mp * vm) / det, perGiBHour: (mp * vv - vp * vm) / det, offers: catalog.instances.length };
}

/** On-prem rightsizing of one plan, in brief. */
export interface RightsizingAtTick {
  tick: number;
  vms: number;
  downsize: number;
  upsize: number;
  keep: number;
  vcpusFreed: number;
  memBytesFreed: number;
  vcpusAdded: number;
  memBytesAdded: number;
}

/** What the plans' cost sections said over the replay. */
export interface BitbrainsCostEffect {
  currency: string;
  catalogNote: string | null;
  /** Plans made, and those with at least one rightsizing recommendation. */
  ticks: number;
  rightsizedTicks: number;
  /** The last plan's rightsizing (null when no plan had one). */
  last: RightsizingAtTick | null;
  /** Mean over rightsizedTicks of the net vCPUs and bytes freed (freed minus added). */
  meanNetVcpus: number;
  meanNetMemBytes: number;
  rates: CatalogRates;
  /** meanNet valued at the rates, per 730-hour month. */
  monthlyValue: number;
  /** Ticks whose moves plan left VMs without a host or hosts overloaded; ticks with a burst suggested, and the most it cost per month. */
  onPremShortTicks: number;
  burstTicks: number;
  maxBurstMonthlyCost: number;
  /** Ticks with a repatriation suggested, and the cloud VMs listed (none in this trace). */
  repatriationTicks: number;
  cloudVms: number;
}

/** Inputs of the cost hooks: the catalog (its prices price bursts and the value of freed capacity) and each VM's provisioned memory. */
export interface BitbrainsCostInputs {
  catalog: InstanceCatalog;
  provisionedMemoryKb: ReadonlyMap<string, number>;
}

/**
 * plannerPolicy hooks that add the Bitbrains VMs' cost inputs to each tick's snapshot and collect
 * the plans' cost sections; `effect()` sums them up after the run.
 */
export function bitbrainsCostHooks(replay: BitbrainsReplay, inputs: BitbrainsCostInputs): { options: Required<Pick<PlannerPolicyOptions, 'extendSnapshot' | 'onPlan'>>; effect(): BitbrainsCostEffect } {
  const { catalog } = inputs;
  const rates = catalogRates(catalog);
  const acc = { ticks: 0, rightsizedTicks: 0, netVcpus: 0, netMem: 0, short: 0, burst: 0, maxBurst: 0, repatriation: 0 };
  let last: RightsizingAtTick | null = null;

  const extendSnapshot = (snapshot: FleetSnapshot, view: TickView): FleetSnapshot => {
    const k = view.tick; // tick k reads grid point k, as its CPU demand does
    const burstable: Record<string, BurstProfile> = {};
    const vms = snapshot.vms.map((v): VmDemand => {
      // plannerPolicy names VM i `v` + i in six digits, in the experiment's (and the replay's) VM order.
      const bv = replay.vms[Number(v.vmId.slice(1))]!;
      const memKb = inputs.provisionedMemoryKb.get(bv.name) ?? 0;
      const L = v.cpuHistory?.length ?? 0;
      const memUsedHistory: number[] = new Array(L);
      for (let j = 0; j < L; j++) memUsedHistory[j] = bv.memoryKb[k - L + 1 + j]! * KB;
      if (bv.cores > 0 && memKb > 0) burstable[v.vmId] = { vcpus: bv.cores, memBytes: memKb * KB };
      return {
        ...v,
        memUsedHistory,
        ...(bv.cores > 0 ? { configured: { vcpus: bv.cores, ...(memKb > 0 ? { memBytes: memKb * KB } : {}), cpuCoresPerVcpu: bv.capacityMhz / bv.cores / MIPS_PER_CORE } } : {}),
      };
    });
    return { ...snapshot, vms, cost: { catalog, burstable } };
  };

  const onPlan = (tick: number, _snapshot: FleetSnapshot, plan: ConsolidationPlan): void => {
    acc.ticks++;
    const cost = plan.cost;
    if (!cost) return;
    const s = cost.summary;
    if (s.burstOut.onPremShort) acc.short++;
    if (s.burstOut.vms > 0) {
      acc.burst++;
      acc.maxBurst = Math.max(acc.maxBurst, s.burstOut.monthlyCost);
    }
    if (s.repatriation.vms > 0) acc.repatriation++;
    const r = s.rightsizing;
    if (r.onPremVms === 0) return;
    acc.rightsizedTicks++;
    acc.netVcpus += r.vcpusFreed - r.vcpusAdded;
    acc.netMem += r.memBytesFreed - r.memBytesAdded;
    last = { tick, vms: r.onPremVms, downsize: r.downsize, upsize: r.upsize, keep: r.keep, vcpusFreed: r.vcpusFreed, memBytesFreed: r.memBytesFreed, vcpusAdded: r.vcpusAdded, memBytesAdded: r.memBytesAdded };
  };

  const effect = (): BitbrainsCostEffect => {
    const n = Math.max(1, acc.rightsizedTicks);
    const meanNetVcpus = acc.netVcpus / n;
    const meanNetMemBytes = acc.netMem / n;
    return {
      currency: catalog.currency,
      catalogNote: catalog.note ?? null,
      ticks: acc.ticks,
      rightsizedTicks: acc.rightsizedTicks,
      last,
      meanNetVcpus,
      meanNetMemBytes,
      rates,
      monthlyValue: (meanNetVcpus * rates.perVcpuHour + (meanNetMemBytes / GIB) * rates.perGiBHour) * HOURS_PER_MONTH,
      onPremShortTicks: acc.short,
      burstTicks: acc.burst,
      maxBurstMonthlyCost: acc.maxBurst,
      repatriationTicks: acc.repatriation,
      cloudVms: 0,
    };
  };
  return { options: { extendSnapshot, onPlan }, effect };
}

/** The bench's lines for the cost effect (policy name, the history the rightsizing saw). */
export function costEffectLines(policy: string, e: BitbrainsCostEffect, historySamples: number, stepSeconds: number): string[] {
  const cur = e.currency;
  const p = DEFAULT_RIGHTSIZING_POLICY;
  const g = (bytes: number) => (bytes / GIB).toFixed(1);
  const window = `each tick's last ≤ ${historySamples} samples (${((historySamples * stepSeconds) / 3600).toFixed(1)} h) of CPU and memory use, p${p.cpuPercentile * 100} CPU +${p.cpuHeadroom * 100} %, p${p.memPercentile * 100} memory +${p.memHeadroom * 100} %`;
  const l = e.last;
  const lastText = l
    ? `last plan (tick ${l.tick}): ${l.vms} VMs, ${l.downsize} downsize, ${l.upsize} upsize, ${l.keep} keep: ${l.vcpusFreed} vCPUs and ${g(l.memBytesFreed)} GiB could be freed (${l.vcpusAdded} vCPUs and ${g(l.memBytesAdded)} GiB to add)`
    : 'no plan had enough history to rightsize';
  return [
    `cost (${policy}, rightsizing from ${window}): ${lastText}; mean over ${e.rightsizedTicks} of ${e.ticks} plans: ${e.meanNetVcpus.toFixed(1)} vCPUs and ${g(e.meanNetMemBytes)} GiB net could be freed`,
    `cost value: ${e.monthlyValue.toFixed(2)} ${cur}/month at ILLUSTRATIVE example-catalog on-demand prices (least squares over its ${e.rates.offers} offers: ${e.rates.perVcpuHour.toFixed(4)} ${cur} per vCPU-h + ${e.rates.perGiBHour.toFixed(4)} ${cur} per GiB-h; not any provider's prices); on-prem it is capacity, not money, until consolidation frees a host`,
    `cost: burst-out suggested at ${e.burstTicks} of ${e.ticks} plans (on-prem short at ${e.onPremShortTicks}; every VM burstable at its configured size${e.burstTicks > 0 ? `; at most ${e.maxBurstMonthlyCost.toFixed(2)} ${cur}/month` : ''}), repatriation at ${e.repatriationTicks} (${e.cloudVms === 0 ? 'the trace has no cloud VMs' : `${e.cloudVms} cloud VMs`})`,
  ];
}
