import { NovaError } from '../../core/index.ts';
import type { InstanceCatalog } from './catalog.ts';
import { instanceLabel } from './catalog.ts';
import { gib, HOURS_PER_MONTH, money, rate } from './format.ts';
import { offerAllowed, choicesFor, compareChoices, describeConstraints, instanceFits, narrowConstraints } from './select.ts';
import type { CloudConstraints, InstanceChoice } from './types.ts';

/** A new VM to run in the cloud: the size its instance must have, and where it may run. */
export interface CloudPlacementRequest extends CloudConstraints {
  vmId: string;
  vcpus: number;
  memBytes: number;
}

/** The offer chosen for a request (null when none qualifies), and why, with the numbers. */
export interface CloudPlacementDecision {
  choice: InstanceChoice | null;
  reason: string;
}

/**
 * The cheapest catalog offer holding the request's vCPUs and memory among those both the policy
 * and the request allow. An instance at least the requested size cannot be overloaded by the VM's
 * configured size, so the risk bound reduces to the fit. Deterministic (ties: compareChoices).
 */
export function cheapestPlacement(request: CloudPlacementRequest, catalog: InstanceCatalog, policy: CloudConstraints = {}): CloudPlacementDecision {
  if (!(Number.isFinite(request.vcpus) && request.vcpus > 0 && Number.isFinite(request.memBytes) && request.memBytes > 0)) {
    throw new NovaError('COST_INVALID_INPUT', `VM ${request.vmId}: vcpus and memBytes must be positive numbers, got ${request.vcpus} and ${request.memBytes}`, { details: { vmId: request.vmId } });
  }
  const constraints = narrowConstraints(policy, request);
  const allowed = catalog.instances.filter((it) => offerAllowed(it, constraints));
  const want = `${request.vmId} needs ${request.vcpus} vCPUs / ${gib(request.memBytes)} GiB`;
  if (allowed.length === 0) {
    return { choice: null, reason: `${want}; no catalog offer is allowed (${describeConstraints(constraints)}) among ${catalog.instances.length} offers` };
  }
  const ranked = allowed
    .filter((it) => instanceFits(it, request))
    .flatMap((it) => choicesFor(it, constraints))
    .sort(compareChoices);
  const cur = catalog.currency;
  const best = ranked[0];
  if (!best) {
    const maxCpu = Math.max(...allowed.map((it) => it.vcpus));
    const maxMem = Math.max(...allowed.map((it) => it.memoryGiB));
    return { choice: null, reason: `${want}; none of the ${allowed.length} allowed offers holds it (largest allowed: ${maxCpu} vCPUs, ${maxMem} GiB; ${describeConstraints(constraints)})` };
  }
  // The runner-up of a different offer shows what choosing this one is worth.
  const next = ranked.find((c) => c.instance !== best.instance);
  const month = (c: InstanceChoice) => c.pricePerHour * HOURS_PER_MONTH;
  const spare = `${best.instance.vcpus - request.vcpus} vCPUs and ${gib(best.instance.memoryGiB * 1024 ** 3 - request.memBytes)} GiB spare`;
  return {
    choice: best,
    reason:
      `${want}; cheapest of ${ranked.length} allowed ways to buy an offer that fits: ${instanceLabel(best.instance)} ${best.pricing}, ${best.instance.vcpus} vCPUs / ${best.instance.memoryGiB} GiB ` +
      `at ${rate(best.pricePerHour, cur)} (${money(month(best), cur)}/month, ${spare})` +
      (next ? `; next: ${instanceLabel(next.instance)} ${next.pricing} at ${rate(next.pricePerHour, cur)} (+${money(month(next) - month(best), cur)}/month)` : '') +
      (best.pricing === 'spot' ? '; spot capacity can be reclaimed at short notice' : ''),
  };
}
