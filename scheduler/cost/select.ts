import { NovaError } from '../../core/index.ts';
import type { CatalogInstance, InstanceCatalog } from './catalog.ts';
import { compareIds, GIB, withinTolerance } from './format.ts';
import type { CloudConstraints, InstanceChoice, InstanceNeed, InstanceRef } from './types.ts';

/** True when the offer holds the need: at least its vCPUs and its memory. */
export function instanceFits(instance: CatalogInstance, need: InstanceNeed): boolean {
  return withinTolerance(need.vcpus, instance.vcpus) && withinTolerance(need.memBytes, instance.memoryGiB * GIB);
}

/** True when the constraints allow the offer's provider and location (see CloudConstraints). */
export function offerAllowed(instance: CatalogInstance, c: CloudConstraints): boolean {
  if (c.allowedProviders && !c.allowedProviders.includes(instance.provider)) return false;
  if (c.allowedRegions && !c.allowedRegions.includes(instance.region)) return false;
  if (c.allowedZones) return instance.zone !== undefined ? c.allowedZones.includes(instance.zone) : c.allowedRegions !== undefined;
  return true;
}

/** Every way the constraints allow to buy the offer: on-demand, and spot when allowed and priced. */
export function choicesFor(instance: CatalogInstance, c: CloudConstraints): InstanceChoice[] {
  const out: InstanceChoice[] = [{ instance, pricing: 'on-demand', pricePerHour: instance.onDemandPerHour }];
  if (c.spotAllowed === true && instance.spotPerHour !== undefined) out.push({ instance, pricing: 'spot', pricePerHour: instance.spotPerHour });
  return out;
}

/**
 * Total order of choices: cheapest first; at equal price the smaller offer (less to waste), then
 * on-demand before spot (same money, no reclaim risk), then by name, so the pick never depends on
 * the catalog's order.
 */
export function compareChoices(a: InstanceChoice, b: InstanceChoice): number {
  return (
    a.pricePerHour - b.pricePerHour ||
    a.instance.vcpus - b.instance.vcpus ||
    a.instance.memoryGiB - b.instance.memoryGiB ||
    (a.pricing === b.pricing ? 0 : a.pricing === 'on-demand' ? -1 : 1) ||
    compareIds(a.instance.provider, b.instance.provider) ||
    compareIds(a.instance.region, b.instance.region) ||
    compareIds(a.instance.zone ?? '', b.instance.zone ?? '') ||
    compareIds(a.instance.instanceType, b.instance.instanceType)
  );
}

/** The cheapest allowed offer that holds the need (ties: see compareChoices), or null when none does. */
export function cheapestFit(catalog: InstanceCatalog, need: InstanceNeed, constraints: CloudConstraints = {}): InstanceChoice | null {
  let best: InstanceChoice | null = null;
  for (const it of catalog.instances) {
    if (!offerAllowed(it, constraints) || !instanceFits(it, need)) continue;
    for (const c of choicesFor(it, constraints)) if (best === null || compareChoices(c, best) < 0) best = c;
  }
  return best;
}

/** The catalog offer a cloud VM runs on: its zone's offer, else the region-wide one; COST_INSTANCE_UNKNOWN when neither exists. */
export function findInstance(catalog: InstanceCatalog, ref: InstanceRef): CatalogInstance {
  const same = (it: CatalogInstance) => it.provider === ref.provider && it.region === ref.region && it.instanceType === ref.instanceType;
  const found = (ref.zone !== undefined ? catalog.instances.find((it) => same(it) && it.zone === ref.zone) : undefined) ?? catalog.instances.find((it) => same(it) && it.zone === undefined);
  if (!found) {
    throw new NovaError('COST_INSTANCE_UNKNOWN', `${ref.provider} ${ref.instanceType} in ${ref.zone ?? ref.region} is not in the instance catalog; add its prices to the catalog file`, {
      details: { ...ref },
    });
  }
  return found;
}

/** What a cloud VM's instance costs per hour as it is billed now; COST_SPOT_PRICE_MISSING when billed spot without a spot price. */
export function currentChoice(catalog: InstanceCatalog, ref: InstanceRef): InstanceChoice {
  const instance = findInstance(catalog, ref);
  if (ref.pricing === 'on-demand') return { instance, pricing: 'on-demand', pricePerHour: instance.onDemandPerHour };
  if (instance.spotPerHour === undefined) {
    throw new NovaError('COST_SPOT_PRICE_MISSING', `${ref.provider} ${ref.instanceType} in ${ref.zone ?? ref.region} runs as spot but the catalog has no spotPerHour for it; add one`, {
      details: { ...ref },
    });
  }
  return { instance, pricing: 'spot', pricePerHour: instance.spotPerHour };
}

/**
 * A request's constraints within a policy's: lists intersect (absent = everything), and spot is
 * allowed only when the policy allows it and the request does not refuse it.
 */
export function narrowConstraints(policy: CloudConstraints, request: CloudConstraints): CloudConstraints {
  const meet = (a: readonly string[] | undefined, b: readonly string[] | undefined) => (a === undefined ? b : b === undefined ? a : a.filter((x) => b.includes(x)));
  const out: CloudConstraints = { spotAllowed: policy.spotAllowed === true && request.spotAllowed !== false };
  const providers = meet(policy.allowedProviders, request.allowedProviders);
  const regions = meet(policy.allowedRegions, request.allowedRegions);
  const zones = meet(policy.allowedZones, request.allowedZones);
  if (providers) out.allowedProviders = providers;
  if (regions) out.allowedRegions = regions;
  if (zones) out.allowedZones = zones;
  return out;
}

/** One line for explanations: which providers, regions and zones were allowed, and spot or not. */
export function describeConstraints(c: CloudConstraints): string {
  const list = (xs: readonly string[] | undefined) => (xs === undefined ? 'any' : xs.length === 0 ? 'none' : xs.join(', '));
  return `providers ${list(c.allowedProviders)}; regions ${list(c.allowedRegions)}; zones ${list(c.allowedZones)}; spot ${c.spotAllowed === true ? 'allowed' : 'not allowed'}`;
}
