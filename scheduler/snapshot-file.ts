import { z } from 'zod';
import { NovaError } from '../core/index.ts';
import type { ConsolidationPlan, ConsolidationPolicy, FleetSnapshot } from './types.ts';

/**
 * Snapshots and plans as files: what `novacron plan --snapshot FILE --out PLAN.json` reads and
 * writes, what `bench:planetlab --dump-at` and `novacron plan --save-snapshot` save. One writer
 * for each, so a plan made in a replay and the same plan remade from its saved snapshot are the
 * same bytes (JSON keeps every double exactly; plans hold no wall-clock field).
 */

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const nonNegative = finite.refine((x) => x >= 0, 'must be ≥ 0');
const id = z.string().min(1).max(256);

const HostSchema = z.strictObject({
  hostId: id,
  cpuCores: nonNegative,
  memBytes: nonNegative,
  cluster: z.string().max(256).optional(),
  maintenance: z.boolean().optional(),
  idleWatts: nonNegative.optional(),
  maxWatts: nonNegative.optional(),
  powerCurveWatts: z.array(nonNegative).length(11).optional(),
  coreCapacity: nonNegative.optional(),
  migrationBandwidthBytesPerSec: nonNegative.optional(),
});

const VmSchema = z.looseObject({
  vmId: id,
  hostId: id,
  cpuCores: nonNegative,
  cpuHistory: z.array(nonNegative).max(100_000).optional(),
  memBytes: nonNegative,
  transferBytes: nonNegative.optional(),
  vcpus: nonNegative.optional(),
  cpuSizeCores: nonNegative.optional(),
  source: z.string().max(1024).optional(),
  cpuQuantiles: z.record(z.string(), nonNegative).optional(),
  dirtyRateBytesPerSec: nonNegative.optional(),
});

const Strength = z.enum(['must', 'should']);
const Kind = z.enum(['affinity', 'anti-affinity']);

const SnapshotSchema = z.looseObject({
  takenAt: finite,
  stepSeconds: nonNegative.optional(),
  hosts: z.array(HostSchema).max(1_000_000),
  vms: z.array(VmSchema).max(10_000_000),
  vmRules: z.array(z.strictObject({ id: z.string().optional(), kind: Kind, strength: Strength, vms: z.array(id) })).optional(),
  hostRules: z.array(z.strictObject({ id: z.string().optional(), vm: id, hosts: z.array(id), kind: Kind, strength: Strength })).optional(),
  recentMoves: z.array(z.strictObject({ vmId: id, fromHost: id, toHost: id, at: finite })).optional(),
});

const PolicySchema = z.looseObject({ cpuTargetUtilization: finite, memTargetUtilization: finite });

function parseJson(text: string, source: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new NovaError('SCHEDULER_FILE_INVALID', `${source}: not valid JSON (${(cause as Error).message}); expected a ${what}`);
  }
}

function check<T>(schema: z.ZodType<T>, value: unknown, source: string, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(root)';
  throw new NovaError('SCHEDULER_FILE_INVALID', `${source}: ${what} field "${field}" is invalid: ${issue.message}`, { details: { field } });
}

/** Reads a snapshot file's text, checking its shape (SCHEDULER_FILE_INVALID names the field). */
export function parseSnapshot(text: string, source = 'snapshot'): FleetSnapshot {
  return check(SnapshotSchema, parseJson(text, source, 'fleet snapshot'), source, 'snapshot') as unknown as FleetSnapshot;
}

/** Reads a policy file's text (the planner checks the values themselves). */
export function parsePolicy(text: string, source = 'policy'): ConsolidationPolicy {
  return check(PolicySchema, parseJson(text, source, 'consolidation policy'), source, 'policy') as unknown as ConsolidationPolicy;
}

/** The snapshot as a file: compact JSON (a snapshot holds every VM's history), one line. */
export function snapshotToJson(snapshot: FleetSnapshot): string {
  return `${JSON.stringify(snapshot)}\n`;
}

/** The plan as a file: indented JSON with its `actions` array; the same plan always gives the same bytes. */
export function planToJson(plan: ConsolidationPlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
