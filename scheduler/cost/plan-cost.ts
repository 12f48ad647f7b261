import { NovaError } from '../../core/index.ts';
import type { ConsolidationPlan, ConsolidationPolicy, FleetSnapshot } from '../types.ts';
import { DEFAULT_BURST_POLICY, onPremShortfall, suggestBurstOut, suggestRepatriation, type BurstOutPlan, type BurstPolicy, type BurstProfile, type RepatriationPlan } from './burst.ts';
import type { InstanceCatalog } from './catalog.ts';
import { validateCostInputs } from './cost-inputs.ts';
import { compareIds, gib, GIB, HOURS_PER_MONTH, money } from './format.ts';
import type { HostProfiles } from './model.ts';
import { checkRightsizingPolicy, DEFAULT_RIGHTSIZING_POLICY, recommendRightsizing, type RightsizingPolicy, type RightsizingRecommendation, type RightsizingVm } from './rightsizing.ts';
import { findInstance } from './select.ts';
import type { CloudVm, InstanceChoice } from './types.ts';

/** How many recommendations of each kind rightsizing made, and what the on-prem ones free. */
export interface RightsizingSummary {
  /** VMs with a recommendation: on-prem VMs with enough history, and every cloud VM. */
  onPremVms: number;
  cloudVms: number;
  /** On-prem VMs not rightsized: fewer than minSamples CPU or memory samples, or no vCPU count. */
  notEvaluated: number;
  keep: number;
  downsize: number;
  upsize: number;
  switch: number;
  noFit: number;
  insufficientData: number;
  /** On-prem VMs: vCPUs and bytes of memory the recommended sizes free (downsizes) and add (upsizes), per dimension. */
  vcpusFreed: number;
  memBytesFreed: number;
  vcpusAdded: number;
  memBytesAdded: number;
  reason: string;
}

/** The cost side of a plan in a few figures, for a person or a dashboard. */
export interface PlanCostSummary {
  /** The catalog's currency (every price and saving here is in it); null without a catalog. */
  currency: string | null;
  /** The catalog's note: where its prices come from (the example catalog says they are illustrative). */
  catalogNote: string | null;
  /**
   * Money per 730-hour month, by kind: cloud rightsizing changes, repatriation, and burst-out (a
   * cost: ≤ 0). On-prem rightsizing frees capacity, not money (that is saved when consolidation
   * frees a host), so it counts 0 here; see rightsizing.vcpusFreed.
   */
  monthlySavings: { rightsizing: number; repatriation: number; burstOut: number; total: number };
  rightsizing: RightsizingSummary;
  /** onPremShort: the moves plan left VMs that must move without a host, or hosts overloaded (a burst was considered). */
  burstOut: { onPremShort: boolean; vms: number; monthlyCost: number; reason: string };
  repatriation: { vms: number; monthlySavings: number; reason: string };
  /** Recommended cloud offers (burst-outs and cloud resizes) billed on spot, and what spot saves on them against on-demand. */
  spot: { recommended: number; monthlySavingsVsOnDemand: number };
}

/** A plan's cost recommendations (ActionPlan.cost); see scheduler/cost/README.md. */
export interface PlanCost {
  /** On-prem VMs with enough history (their size only), then cloud VMs (offer and price), each in id order. */
  rightsizing: RightsizingRecommendation[];
  /** Made only when the moves plan leaves VMs without a host or hosts overloaded, and a catalog prices it; null otherwise (see summary.burstOut.reason). */
  burstOut: BurstOutPlan | null;
  /** Made when the snapshot lists cloud VMs and host cost profiles; null otherwise (see summary.repatriation.reason). */
  repatriation: RepatriationPlan | null;
  summary: PlanCostSummary;
}

/** A snapshot's cost inputs, checked, with their defaults filled in. */
export interface CostContext {
  catalog: InstanceCatalog | null;
  burstable: Readonly<Record<string, BurstProfile>>;
  cloudVms: readonly CloudVm[];
  hostProfiles: HostProfiles | null;
  burst: BurstPolicy;
  rightsizing: RightsizingPolicy;
}

/**
 * The snapshot's cost inputs, validated (SCHEDULER_INVALID_SNAPSHOT naming the field), or null
 * when it has none: no `cost` and no VM with a memUsedHistory. Call before planning.
 */
export function costContext(snapshot: FleetSnapshot, policy: ConsolidationPolicy): CostContext | null {
  const catalog = validateCostInputs(snapshot);
  const c = snapshot.cost;
  if (c === undefined && !snapshot.vms.some((v) => v.memUsedHistory !== undefined)) return null;
  const rightsizing: RightsizingPolicy = { ...DEFAULT_RIGHTSIZING_POLICY, ...(c?.rightsizing ?? {}) };
  try {
    checkRightsizingPolicy(rightsizing);
  } catch (err) {
    const field = err instanceof NovaError ? String((err.details as { field?: string } | undefined)?.field ?? '') : '';
    throw new NovaError('SCHEDULER_INVALID_SNAPSHOT', `snapshot field "cost.rightsizing${field ? `.${field}` : ''}" is invalid: ${(err as Error).message}; fix the snapshot's cost inputs (scheduler/cost/README.md)`, {
      cause: err,
      details: { field: `cost.rightsizing${field ? `.${field}` : ''}` },
    });
  }
  const b = c?.burst ?? {};
  return {
    catalog,
    burstable: c?.burstable ?? {},
    cloudVms: c?.cloudVms ?? [],
    hostProfiles: c?.hostProfiles ?? null,
    burst: {
      horizonHours: b.horizonHours ?? DEFAULT_BURST_POLICY.horizonHours,
      constraints: b.constraints ?? DEFAULT_BURST_POLICY.constraints,
      minMonthlySavings: b.minMonthlySavings ?? DEFAULT_BURST_POLICY.minMonthlySavings,
      consolidation: policy,
    },
    rightsizing,
  };
}

/**
 * The cost recommendations beside a moves plan: rightsizing of every on-prem VM with enough
 * history and of every cloud VM; burst-out when the plan leaves VMs without a host or hosts
 * overloaded; repatriation of cloud VMs onto the fleet as the plan leaves it; spot wherever the
 * constraints allow it and it is cheapest. Pure and deterministic: no clock, no I/O.
 */
export function planCost(ctx: CostContext, snapshot: FleetSnapshot, plan: ConsolidationPlan): PlanCost {
  const { catalog } = ctx;
  const cur = catalog?.currency ?? null;
  const where = new Map<string, string>();
  for (const a of plan.actions) if (a.kind === 'migrate') where.set(a.vmId, a.toHost);

  // Rightsizing: on-prem VMs with enough history (sizes), then cloud VMs (offers).
  const p = ctx.rightsizing;
  const onPrem: RightsizingVm[] = [];
  let notEvaluated = 0;
  for (const v of [...snapshot.vms].sort((a, b) => compareIds(a.vmId, b.vmId))) {
    const vcpus = v.configured?.vcpus ?? v.vcpus;
    const memBytes = v.configured?.memBytes ?? v.memBytes;
    const cpuH = v.cpuHistory;
    const memH = v.memUsedHistory;
    if (vcpus === undefined || !(memBytes > 0) || !cpuH || !memH || cpuH.length < p.minSamples || memH.length < p.minSamples) {
      notEvaluated++;
      continue;
    }
    const perVcpu = v.configured?.cpuCoresPerVcpu ?? 1;
    onPrem.push({
      vmId: v.vmId,
      vcpus,
      memBytes,
      location: { kind: 'on-prem', hostId: where.get(v.vmId) ?? v.hostId },
      cpuCoresHistory: perVcpu === 1 ? cpuH : cpuH.map((x) => x / perVcpu),
      memBytesHistory: memH,
    });
  }
  const cloud: RightsizingVm[] = [...ctx.cloudVms]
    .sort((a, b) => compareIds(a.vmId, b.vmId))
    .map((vm) => {
      // validateCostInputs checked that every cloud VM's offer is in the catalog.
      const offer = findInstance(catalog!, vm.instance);
      return {
        vmId: vm.vmId,
        vcpus: offer.vcpus,
        memBytes: vm.memBytes > 0 ? vm.memBytes : offer.memoryGiB * GIB,
        location: { kind: 'cloud', instance: vm.instance },
        ...(vm.cpuHistory ? { cpuCoresHistory: vm.cpuHistory } : {}),
        ...(vm.memUsedHistory ? { memBytesHistory: vm.memUsedHistory } : {}),
      };
    });
  const rightsizing = [...recommendRightsizing(onPrem, catalog, p), ...recommendRightsizing(cloud, catalog, p)];

  // Burst-out: only when the moves plan could not do its job for want of room.
  const short = onPremShortfall(plan);
  let burstOut: BurstOutPlan | null = null;
  let burstReason: string;
  if (!short) burstReason = 'no burst needed: the moves plan places every VM that must move and leaves no host overloaded';
  else if (!catalog) burstReason = `the moves plan leaves ${short.unplaced.length} VM(s) without a host and ${short.overloaded.length} host(s) overloaded, but the snapshot's cost inputs have no catalog to price a burst: add capacity, or give cost.catalog and cost.burstable`;
  else {
    burstOut = suggestBurstOut({ snapshot, burstable: ctx.burstable, catalog }, ctx.burst);
    burstReason = burstOut.reason;
  }

  // Repatriation: cloud VMs onto the fleet as the plan leaves it.
  let repatriation: RepatriationPlan | null = null;
  let repatriationReason: string;
  if (ctx.cloudVms.length === 0) repatriationReason = 'bring nothing back: the snapshot lists no cloud VMs';
  else if (!ctx.hostProfiles) repatriationReason = `bring nothing back: ${ctx.cloudVms.length} cloud VM(s) but no cost.hostProfiles to price on-prem power with`;
  else {
    repatriation = suggestRepatriation({ snapshot, cloudVms: ctx.cloudVms, catalog: catalog!, hostProfiles: ctx.hostProfiles, plan }, ctx.burst);
    repatriationReason = repatriation.reason;
  }

  return { rightsizing, burstOut, repatriation, summary: summarize(ctx, rightsizing, notEvaluated, burstOut, burstReason, short !== null, repatriation, repatriationReason, cur) };
}

const CHANGES = new Set<RightsizingRecommendation['action']>(['downsize', 'upsize', 'switch']);

function summarize(
  ctx: CostContext,
  recs: readonly RightsizingRecommendation[],
  notEvaluated: number,
  burstOut: BurstOutPlan | null,
  burstReason: string,
  burstNeeded: boolean,
  repatriation: RepatriationPlan | null,
  repatriationReason: string,
  cur: string | null,
): PlanCostSummary {
  const rs: RightsizingSummary = { onPremVms: 0, cloudVms: 0, notEvaluated, keep: 0, downsize: 0, upsize: 0, switch: 0, noFit: 0, insufficientData: 0, vcpusFreed: 0, memBytesFreed: 0, vcpusAdded: 0, memBytesAdded: 0, reason: '' };
  let rightsizingSavings = 0;
  const spotChoices: InstanceChoice[] = [];
  for (const r of recs) {
    if (r.action === 'no-fit') rs.noFit++;
    else if (r.action === 'insufficient-data') rs.insufficientData++;
    else rs[r.action]++;
    if (r.location.kind === 'on-prem') {
      rs.onPremVms++;
      if (r.recommended) {
        rs.vcpusFreed += Math.max(0, r.current.vcpus - r.recommended.vcpus);
        rs.vcpusAdded += Math.max(0, r.recommended.vcpus - r.current.vcpus);
        rs.memBytesFreed += Math.max(0, r.current.memBytes - r.recommended.memBytes);
        rs.memBytesAdded += Math.max(0, r.recommended.memBytes - r.current.memBytes);
      }
      continue;
    }
    rs.cloudVms++;
    if (CHANGES.has(r.action)) {
      rightsizingSavings += r.monthlySavings ?? 0;
      if (r.recommendedInstance?.pricing === 'spot') spotChoices.push(r.recommendedInstance);
    }
  }
  const counts = (['downsize', 'upsize', 'switch', 'keep'] as const).map((a) => `${rs[a]} ${a}`).join(', ') + (rs.noFit > 0 ? `, ${rs.noFit} no-fit` : '') + (rs.insufficientData > 0 ? `, ${rs.insufficientData} insufficient-data` : '');
  rs.reason =
    `${rs.onPremVms + rs.cloudVms} VM(s) rightsized (${rs.onPremVms} on-prem, ${rs.cloudVms} cloud): ${counts}; ` +
    `on-prem sizes free ${rs.vcpusFreed} vCPUs and ${gib(rs.memBytesFreed)} GiB and add ${rs.vcpusAdded} vCPUs and ${gib(rs.memBytesAdded)} GiB (money is saved when consolidation frees a host)` +
    (cur !== null && rs.cloudVms > 0 ? `; cloud resizes save ${money(rightsizingSavings, cur)}/month` : '') +
    (notEvaluated > 0 ? `; ${notEvaluated} on-prem VM(s) not rightsized: fewer than ${ctx.rightsizing.minSamples} CPU or memory samples (cpuHistory, memUsedHistory) or no vCPU count` : '');

  for (const s of burstOut?.suggestions ?? []) if (s.choice.pricing === 'spot') spotChoices.push(s.choice);
  let spotSavings = 0;
  for (const c of spotChoices) spotSavings += (c.instance.onDemandPerHour - c.pricePerHour) * HOURS_PER_MONTH;

  const repatriationSavings = repatriation?.monthlySavings ?? 0;
  const burstCost = burstOut?.monthlyCost ?? 0;
  // 0 − x, not −x: a burst that costs nothing must not be −0 (JSON would turn it into 0, and a stored plan must read back equal).
  const burstSavings = 0 - burstCost;
  return {
    currency: cur,
    catalogNote: ctx.catalog?.note ?? null,
    monthlySavings: { rightsizing: rightsizingSavings, repatriation: repatriationSavings, burstOut: burstSavings, total: rightsizingSavings + repatriationSavings + burstSavings },
    rightsizing: rs,
    burstOut: { onPremShort: burstNeeded, vms: burstOut?.suggestions.length ?? 0, monthlyCost: burstCost, reason: burstReason },
    repatriation: { vms: repatriation?.suggestions.length ?? 0, monthlySavings: repatriationSavings, reason: repatriationReason },
    spot: { recommended: spotChoices.length, monthlySavingsVsOnDemand: spotSavings },
  };
}
