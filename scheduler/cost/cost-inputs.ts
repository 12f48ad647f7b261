import { z } from 'zod';
import { NovaError } from '../../core/index.ts';
import type { FleetSnapshot } from '../types.ts';
import { parseCatalog, type InstanceCatalog } from './catalog.ts';
import { currentChoice } from './select.ts';

// The cost inputs of a snapshot (FleetSnapshot.cost) and the per-VM fields only rightsizing reads
// (memUsedHistory, configured), checked the way validateSnapshot checks the rest: a typed
// SCHEDULER_INVALID_SNAPSHOT error naming the field. Unknown fields of `cost` are refused, so a
// misspelt `spotalowed` is an error rather than a silently ignored setting.

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const nonNegative = finite.refine((x) => x >= 0, 'must be ≥ 0');
const positive = finite.refine((x) => x > 0, 'must be > 0');
const name = z.string().trim().min(1);

const Constraints = z.strictObject({
  allowedProviders: z.array(name).optional(),
  allowedRegions: z.array(name).optional(),
  allowedZones: z.array(name).optional(),
  spotAllowed: z.boolean().optional(),
});

const InstanceRef = z.strictObject({ provider: name, region: name, zone: name.optional(), instanceType: name, pricing: z.enum(['on-demand', 'spot']) });

const CloudVmSchema = z.strictObject({
  vmId: name,
  instance: InstanceRef,
  cpuCores: nonNegative,
  memBytes: nonNegative,
  source: z.string().optional(),
  allowedHosts: z.array(name).optional(),
  cpuHistory: z.array(nonNegative).optional(),
  memUsedHistory: z.array(nonNegative).optional(),
});

const BurstProfileSchema = z.strictObject({ vcpus: positive, memBytes: positive.optional(), constraints: Constraints.optional() });

const LoadCurve = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('linear'), idleWatts: nonNegative, maxWatts: nonNegative }),
  z.strictObject({
    kind: z.literal('points'),
    points: z
      .array(z.strictObject({ utilization: nonNegative, watts: nonNegative }))
      .min(2)
      .refine((pts) => pts[0]!.utilization === 0 && pts.at(-1)!.utilization === 1 && pts.every((p, i) => i === 0 || p.utilization > pts[i - 1]!.utilization), 'needs utilizations rising strictly from 0 to 1'),
  }),
]);

const HostProfile = z.strictObject({ purchasePrice: nonNegative, lifetimeHours: positive, power: LoadCurve, pricePerKWh: nonNegative, pue: finite.refine((x) => x >= 1, 'must be ≥ 1').optional() });

const CostSchema = z.strictObject({
  // Checked by the catalog's own schema (parseCatalog), with its field names.
  catalog: z.unknown().optional(),
  burstable: z.record(z.string(), BurstProfileSchema).optional(),
  cloudVms: z.array(CloudVmSchema).optional(),
  hostProfiles: z.strictObject({ default: HostProfile.optional(), byHost: z.record(z.string(), HostProfile).optional() }).optional(),
  burst: z.strictObject({ horizonHours: positive.optional(), constraints: Constraints.optional(), minMonthlySavings: finite.optional() }).optional(),
  // Ranges are checked by the rightsizing policy check once merged with the defaults.
  rightsizing: z
    .strictObject({
      cpuPercentile: finite.optional(),
      cpuHeadroom: finite.optional(),
      memPercentile: finite.optional(),
      memHeadroom: finite.optional(),
      minVcpus: finite.optional(),
      memStepBytes: finite.optional(),
      minSamples: finite.optional(),
      minMonthlySavings: finite.optional(),
      constraints: Constraints.optional(),
    })
    .optional(),
});

function invalid(field: string, message: string, cause?: unknown): never {
  throw new NovaError('SCHEDULER_INVALID_SNAPSHOT', `snapshot field "${field}" is invalid: ${message}; fix the snapshot's cost inputs (scheduler/cost/README.md)`, {
    ...(cause !== undefined ? { cause } : {}),
    details: { field },
  });
}

function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

/**
 * Checks the snapshot's cost inputs and the VMs' rightsizing fields; returns the catalog, parsed
 * (null when none is given). Throws SCHEDULER_INVALID_SNAPSHOT naming the first bad field.
 */
export function validateCostInputs(snapshot: FleetSnapshot): InstanceCatalog | null {
  snapshot.vms.forEach((v, i) => {
    const at = `vms[${i}]`;
    if (v.memUsedHistory !== undefined) {
      if (!Array.isArray(v.memUsedHistory)) invalid(`${at}.memUsedHistory`, `VM ${v.vmId}: must be an array of bytes`);
      v.memUsedHistory.forEach((x, k) => {
        if (!(typeof x === 'number' && Number.isFinite(x) && x >= 0)) invalid(`${at}.memUsedHistory[${k}]`, `VM ${v.vmId}: every sample must be a non-negative number of bytes, got ${x}`);
      });
    }
    const c = v.configured;
    if (c !== undefined) {
      if (c === null || typeof c !== 'object') invalid(`${at}.configured`, `VM ${v.vmId}: must be an object { vcpus?, memBytes?, cpuCoresPerVcpu? }`);
      for (const [k, x] of Object.entries(c)) {
        if (!['vcpus', 'memBytes', 'cpuCoresPerVcpu'].includes(k)) invalid(`${at}.configured.${k}`, `VM ${v.vmId}: unknown field (known: vcpus, memBytes, cpuCoresPerVcpu)`);
        if (x !== undefined && !(typeof x === 'number' && Number.isFinite(x) && x > 0)) invalid(`${at}.configured.${k}`, `VM ${v.vmId}: must be a positive number, got ${x}`);
      }
    }
  });

  const cost = snapshot.cost;
  if (cost === undefined) return null;
  const parsed = CostSchema.safeParse(cost);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    invalid(fieldPath('cost', path), issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message);
  }

  let catalog: InstanceCatalog | null = null;
  if (cost.catalog !== undefined) {
    try {
      catalog = parseCatalog(cost.catalog, 'snapshot cost.catalog');
    } catch (err) {
      const field = (err as NovaError).details?.field;
      invalid(`cost.catalog${typeof field === 'string' && field !== '(root)' ? `.${field}` : ''}`, (err as Error).message, err);
    }
  }

  const onPrem = new Set(snapshot.vms.map((v) => v.vmId));
  const cloudIds = new Set<string>();
  (cost.cloudVms ?? []).forEach((vm, i) => {
    const at = `cost.cloudVms[${i}]`;
    if (onPrem.has(vm.vmId)) invalid(`${at}.vmId`, `VM ${vm.vmId} is both in vms (on-prem) and among the cloud VMs; list it once`);
    if (cloudIds.has(vm.vmId)) invalid(`${at}.vmId`, `cloud VM ${vm.vmId} appears twice`);
    cloudIds.add(vm.vmId);
    if (!catalog) invalid('cost.catalog', `the snapshot lists cloud VMs (${vm.vmId}, …) but no catalog to price them`);
    try {
      currentChoice(catalog, vm.instance);
    } catch (err) {
      invalid(`${at}.instance`, (err as Error).message, err);
    }
  });
  if (Object.keys(cost.burstable ?? {}).length > 0 && !catalog) invalid('cost.catalog', 'the snapshot lists burstable VMs but no catalog to price a burst with');
  // What a burst or a repatriation would need only when one is considered is checked now, so a plan never fails later on it.
  const vmById = new Map(snapshot.vms.map((v) => [v.vmId, v]));
  for (const [id, profile] of Object.entries(cost.burstable ?? {})) {
    const vm = vmById.get(id);
    if (vm && profile.memBytes === undefined && !(vm.memBytes > 0)) invalid(`cost.burstable.${id}.memBytes`, `VM ${id} reserves no memory on-prem, so its instance's memory must be given`);
  }
  const profiles = cost.hostProfiles;
  if (profiles && profiles.default === undefined && (cost.cloudVms ?? []).length > 0) {
    const missing = snapshot.hosts.find((h) => profiles.byHost?.[h.hostId] === undefined);
    if (missing) invalid('cost.hostProfiles.default', `host ${missing.hostId} has no cost profile (none in byHost, and no default): repatriation could not price its power`);
  }
  return catalog;
}
