import { NovaError, type Migration, type PgPool } from '../core/index.ts';
import { echoPolicy } from './plan-report.ts';
import type { PlanCost } from './cost/plan-cost.ts';
import type { RightsizingRecommendation } from './cost/rightsizing.ts';
import type { ActionPlan, ConsolidationPolicy, FleetSnapshot, HostLoad, MigrateAction, PlannedAction, PowerOffAction } from './types.ts';

/** PostgreSQL schema of plans, their actions and the host inventory; apply with core's migrate(). */
export const SCHEDULER_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 'scheduler-001',
    sql: `
      create table plans (
        id bigserial primary key,
        created_at timestamptz not null,
        policy jsonb not null,
        hosts_before int not null,
        hosts_after int not null,
        hosts_saved int not null,
        unplaced jsonb not null,
        load_after jsonb not null
      );
      create table plan_actions (
        plan_id bigint not null references plans on delete cascade,
        seq int not null,
        kind text not null check (kind in ('migrate', 'power-off')),
        vm_id text,
        from_host text,
        to_host text,
        host_id text,
        cpu_cores double precision,
        mem_bytes bigint,
        reason text not null,
        primary key (plan_id, seq)
      );`,
  },
  {
    id: 'scheduler-002',
    sql: `
      create table hosts (
        host_id text primary key,
        cpu_cores double precision not null,
        mem_bytes bigint not null,
        vm_count int not null,
        cpu_p95_cores double precision not null,
        mem_reserved_bytes bigint not null,
        updated_at timestamptz not null
      );`,
  },
  {
    // The plan's explanation (waves, savings, risk, violations, deferred moves, budget) and each
    // action's structured why; null for plans saved before they existed.
    id: 'scheduler-003',
    sql: `
      alter table plans add column explanation jsonb;
      alter table plan_actions add column details jsonb;`,
  },
  {
    // A plan's rightsizing recommendations, one row each: there is one per VM with history (16k
    // rows, ~11 MB of JSON, for a 16k-VM fleet), so they cannot live in plans.explanation, which
    // every read of the plan parses whole. Plans saved before keep theirs in the explanation.
    id: 'scheduler-004',
    sql: `
      create table plan_rightsizing (
        plan_id bigint not null references plans on delete cascade,
        seq int not null,
        vm_id text not null,
        action text not null,
        -- json, not jsonb: kept as written, so a recommendation reads back with its fields in order.
        recommendation json not null,
        primary key (plan_id, seq)
      );
      -- How many rows the plan has there: counting 16k index entries per read of a plan cost 60-100 ms.
      alter table plans add column rightsizing_total int;`,
  },
]);

/** What a plan read includes of its rightsizing list (one entry per VM with history). */
export interface PlanReadOptions {
  /** At most this many recommendations, in stored order (default: all). */
  rightsizingLimit?: number;
  /**
   * 'touched': loadAfter lists only the hosts the plan's actions move VMs from or to, and
   * `loadAfterTotal` says how many hosts the whole list has (loadAfterPage reads them all).
   * The whole list has every host that runs VMs: 2,000 entries, ~260 KB of JSON, at 2,000 hosts.
   * Default 'all'.
   */
  loadAfter?: 'all' | 'touched';
}

/**
 * A stored plan as read; with a rightsizingLimit, `rightsizingTotal` says how long the whole list
 * is (when it has a cost section); with loadAfter 'touched', `loadAfterTotal` does for loadAfter.
 */
export type StoredPlan = ActionPlan & { id: number; rightsizingTotal?: number; loadAfterTotal?: number };

/** One page of a plan's loadAfter (every host that runs VMs after the plan), in stored order. */
export interface LoadAfterPage {
  hosts: HostLoad[];
  total: number;
}

/** One page of a plan's rightsizing recommendations, optionally of one action. */
export interface RightsizingPage {
  recommendations: RightsizingRecommendation[];
  total: number;
}

/** Plan fields stored together in plans.explanation. */
const EXPLANATION_FIELDS = ['waves', 'expectedSavings', 'risk', 'violations', 'deferred', 'budget', 'cost'] as const;
/** Action fields stored in plan_actions.details. */
const MIGRATE_DETAILS = ['cause', 'estimatedSeconds', 'costWh', 'wave'] as const satisfies readonly (keyof MigrateAction)[];
const POWER_OFF_DETAILS = ['savedWatts', 'migrationCostWh'] as const satisfies readonly (keyof PowerOffAction)[];

/** The named fields of `from` that are set, or null when none is. */
function pick(from: object, keys: readonly string[]): string | null {
  const out: Record<string, unknown> = {};
  for (const k of keys) if ((from as Record<string, unknown>)[k] !== undefined) out[k] = (from as Record<string, unknown>)[k];
  return Object.keys(out).length > 0 ? JSON.stringify(out) : null;
}

/** One row of the host inventory: capacity and what its VMs are predicted to need. */
export interface HostInventory {
  hostId: string;
  cpuCores: number;
  memBytes: number;
  vmCount: number;
  cpuP95Cores: number;
  memReservedBytes: number;
  updatedAt: number;
}

/** Stores a plan and its actions in one transaction; returns the plan id. */
export async function savePlan(pool: PgPool, plan: ActionPlan): Promise<number> {
  const client = await connect(pool);
  try {
    await client.query('begin');
    const inserted = await client.query<{ id: string }>(
      `insert into plans (created_at, policy, hosts_before, hosts_after, hosts_saved, unplaced, load_after, explanation, rightsizing_total)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
      // The rightsizing list goes to its own table (scheduler-004); the rest of the cost section stays.
      [new Date(plan.createdAt), JSON.stringify(plan.policy), plan.hostsBefore, plan.hostsAfter, plan.hostsSaved, JSON.stringify(plan.unplaced), JSON.stringify(plan.loadAfter),
        pick(plan.cost ? { ...plan, cost: { ...plan.cost, rightsizing: [] } } : plan, EXPLANATION_FIELDS), plan.cost?.rightsizing.length ?? null],
    );
    const id = Number(inserted.rows[0]!.id);
    const rightsizing = plan.cost?.rightsizing ?? [];
    if (rightsizing.length > 0) {
      await client.query(
        `insert into plan_rightsizing (plan_id, seq, vm_id, action, recommendation)
         select $1::bigint, * from unnest($2::int[], $3::text[], $4::text[], $5::json[])`,
        [id, rightsizing.map((_, i) => i), rightsizing.map((r) => r.vmId), rightsizing.map((r) => r.action), rightsizing.map((r) => JSON.stringify(r))],
      );
    }
    if (plan.actions.length > 0) {
      // One statement for all actions: a plan for a large fleet is thousands of rows.
      const col = <T>(f: (a: PlannedAction) => T) => plan.actions.map(f);
      await client.query(
        `insert into plan_actions (plan_id, seq, kind, vm_id, from_host, to_host, host_id, cpu_cores, mem_bytes, reason, details)
         select $1::bigint, * from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::bigint[], $10::text[], $11::jsonb[])`,
        [
          id,
          plan.actions.map((_, i) => i),
          col((a) => a.kind),
          col((a) => (a.kind === 'migrate' ? a.vmId : null)),
          col((a) => (a.kind === 'migrate' ? a.fromHost : null)),
          col((a) => (a.kind === 'migrate' ? a.toHost : null)),
          col((a) => (a.kind === 'power-off' ? a.hostId : null)),
          col((a) => (a.kind === 'migrate' ? a.cpuCores : null)),
          col((a) => (a.kind === 'migrate' ? a.memBytes : null)),
          col((a) => a.reason),
          col((a) => pick(a, a.kind === 'migrate' ? MIGRATE_DETAILS : POWER_OFF_DETAILS)),
        ],
      );
    }
    await client.query('commit');
    return id;
  } catch (cause) {
    await client.query('rollback').catch(() => undefined);
    throw storeError('save the plan', cause);
  } finally {
    client.release();
  }
}

interface PlanRow {
  id: string;
  created_at: Date;
  policy: ConsolidationPolicy;
  hosts_before: number;
  hosts_after: number;
  hosts_saved: number;
  unplaced: string[];
  load_after: HostLoad[];
  explanation: Partial<Pick<ActionPlan, (typeof EXPLANATION_FIELDS)[number]>> | null;
  /** Rows in plan_rightsizing; null for plans saved before scheduler-004 (theirs are in the explanation). */
  rightsizing_total: number | null;
  /** With loadAfter 'touched': the whole loadAfter's length (load_after then holds the touched hosts only). */
  load_after_total?: number;
}

interface ActionRow {
  kind: string;
  vm_id: string | null;
  from_host: string | null;
  to_host: string | null;
  host_id: string | null;
  cpu_cores: number | null;
  mem_bytes: string | null;
  reason: string;
  details: Record<string, unknown> | null;
}

/** The most recently saved plan with its actions in order, or null when none was saved. */
export async function latestPlan(pool: PgPool, opts: PlanReadOptions = {}): Promise<StoredPlan | null> {
  return loadPlan(pool, undefined, opts);
}

/**
 * Plan `id` (the latest when absent) with its actions in order, or null when there is none. With
 * `opts.rightsizingLimit`, its cost section's rightsizing list is cut to that many and
 * `rightsizingTotal` gives the whole list's length (rightsizingPage reads the rest).
 */
export async function loadPlan(pool: PgPool, id?: number, opts: PlanReadOptions = {}): Promise<StoredPlan | null> {
  const client = await connect(pool);
  try {
    // One snapshot for both reads, so a concurrent save cannot pair a plan with foreign actions.
    await client.query('begin isolation level repeatable read read only');
    const which = id === undefined ? 'order by id desc limit 1' : 'where id = $1';
    const plans = await client.query<PlanRow>(`select ${opts.loadAfter === 'touched' ? TOUCHED_COLUMNS : '*'} from plans ${which}`, id === undefined ? [] : [id]);
    const row = plans.rows[0];
    if (!row) {
      await client.query('commit');
      return null;
    }
    const actions = await client.query<ActionRow>('select * from plan_actions where plan_id = $1 order by seq', [row.id]);
    const rightsizing = row.explanation?.cost ? await readRightsizing(client, row, row.explanation.cost, opts) : undefined;
    await client.query('commit');
    return {
      id: Number(row.id),
      createdAt: row.created_at.getTime(),
      // jsonb reorders keys; rebuilding the objects keeps their shape identical to what was saved.
      policy: echoPolicy(row.policy),
      actions: actions.rows.map(toAction),
      hostsBefore: row.hosts_before,
      hostsAfter: row.hosts_after,
      hostsSaved: row.hosts_saved,
      loadAfter: row.load_after.map(toHostLoad),
      ...(row.load_after_total !== undefined ? { loadAfterTotal: row.load_after_total } : {}),
      unplaced: row.unplaced,
      ...(row.explanation ?? {}),
      ...(rightsizing ? { cost: rightsizing.cost, ...(opts.rightsizingLimit !== undefined ? { rightsizingTotal: rightsizing.total } : {}) } : {}),
    };
  } catch (cause) {
    await client.query('rollback').catch(() => undefined);
    throw storeError(id === undefined ? 'read the latest plan' : `read plan ${id}`, cause);
  } finally {
    client.release();
  }
}

// jsonb reorders keys: rebuilt so a host's load reads back in the order it was saved.
const toHostLoad = (l: HostLoad): HostLoad => ({ hostId: l.hostId, cpuCores: l.cpuCores, memBytes: l.memBytes, cpuCapacity: l.cpuCapacity, memCapacity: l.memCapacity, vmCount: l.vmCount });

/** SQL: the entries `l` (1-based position `i`) of plans.load_after meeting `condition`, in stored order, as a jsonb array. */
function loadAfterWhere(condition: string): string {
  return `coalesce((select jsonb_agg(l order by i) from jsonb_array_elements(load_after) with ordinality e(l, i) where ${condition}), '[]')`;
}

/**
 * A plan row with loadAfter cut to the hosts its migrations move VMs from or to (in stored order)
 * and the whole list's length: PostgreSQL filters the jsonb, so the ~260 KB of a 2,000-host list
 * are neither sent nor parsed.
 */
const TOUCHED_COLUMNS = `id, created_at, policy, hosts_before, hosts_after, hosts_saved, unplaced, explanation, rightsizing_total,
  jsonb_array_length(load_after) load_after_total,
  ${loadAfterWhere(`l->>'hostId' in (select unnest(array[from_host, to_host]) from plan_actions a where a.plan_id = plans.id and a.kind = 'migrate')`)} load_after`;

/** A page of plan `planId`'s loadAfter in stored order (sliced by PostgreSQL); null when there is no such plan. */
export async function loadAfterPage(pool: PgPool, planId: number, page: { limit: number; offset: number }): Promise<LoadAfterPage | null> {
  try {
    const rows = await pool.query<{ total: number; hosts: HostLoad[] }>(
      `select jsonb_array_length(load_after) total, ${loadAfterWhere('i > $2 and i <= $2 + $3')} hosts from plans where id = $1`,
      [planId, page.offset, page.limit],
    );
    const row = rows.rows[0];
    return row ? { hosts: row.hosts.map(toHostLoad), total: row.total } : null;
  } catch (cause) {
    throw storeError(`read plan ${planId}'s load after`, cause);
  }
}

type Queryable = Pick<PgPool, 'query'>;

/** The stored cost section with its rightsizing list (from plan_rightsizing, or the explanation for plans saved before it). */
async function readRightsizing(client: Queryable, row: PlanRow, stored: PlanCost, opts: PlanReadOptions): Promise<{ cost: PlanCost; total: number }> {
  const limit = opts.rightsizingLimit;
  if (row.rightsizing_total === null) {
    const all = stored.rightsizing ?? [];
    return { cost: { ...stored, rightsizing: limit === undefined ? all : all.slice(0, limit) }, total: all.length };
  }
  const rows = limit === 0 ? [] : (await client.query<{ recommendation: RightsizingRecommendation }>(
    `select recommendation from plan_rightsizing where plan_id = $1 order by seq${limit === undefined ? '' : ' limit $2'}`,
    limit === undefined ? [row.id] : [row.id, limit],
  )).rows;
  return { cost: { ...stored, rightsizing: rows.map((r) => r.recommendation) }, total: row.rightsizing_total };
}

/** A page of plan `planId`'s rightsizing recommendations in stored order, of one action when given; null when there is no such plan. */
export async function rightsizingPage(pool: PgPool, planId: number, page: { limit: number; offset: number; action?: RightsizingRecommendation['action'] }): Promise<RightsizingPage | null> {
  try {
    // The total alone: a page is asked far more often than plans change, and reading the
    // explanation (detoasting the whole document to cut its cost out) is only needed for plans
    // stored before plan_rightsizing existed.
    const plan = await pool.query<{ rightsizing_total: number | null }>('select rightsizing_total from plans where id = $1', [planId]);
    if (plan.rows.length === 0) return null;
    const total = plan.rows[0]!.rightsizing_total;
    if (total === null) {
      const stored = await pool.query<{ cost: PlanCost | null }>(`select explanation->'cost' cost from plans where id = $1`, [planId]);
      const legacy = stored.rows[0]?.cost?.rightsizing ?? [];
      const matching = page.action ? legacy.filter((r) => r.action === page.action) : legacy;
      return { recommendations: matching.slice(page.offset, page.offset + page.limit), total: matching.length };
    }
    if (!page.action) {
      // seq runs 0..total-1: a page is a range of the primary key, and the total is stored.
      const rows = await pool.query<{ recommendation: RightsizingRecommendation }>(
        'select recommendation from plan_rightsizing where plan_id = $1 and seq >= $2 order by seq limit $3', [planId, page.offset, page.limit]);
      return { recommendations: rows.rows.map((r) => r.recommendation), total };
    }
    const matching = await pool.query<{ n: string }>('select count(*) n from plan_rightsizing where plan_id = $1 and action = $2', [planId, page.action]);
    const rows = await pool.query<{ recommendation: RightsizingRecommendation }>(
      'select recommendation from plan_rightsizing where plan_id = $1 and action = $2 order by seq limit $3 offset $4', [planId, page.action, page.limit, page.offset]);
    return { recommendations: rows.rows.map((r) => r.recommendation), total: Number(matching.rows[0]!.n) };
  } catch (cause) {
    throw storeError(`read plan ${planId}'s rightsizing`, cause);
  }
}

function toAction(r: ActionRow): PlannedAction {
  if (r.kind === 'migrate') {
    return { kind: 'migrate', vmId: r.vm_id!, fromHost: r.from_host!, toHost: r.to_host!, cpuCores: r.cpu_cores!, memBytes: Number(r.mem_bytes), reason: r.reason, ...r.details };
  }
  return { kind: 'power-off', hostId: r.host_id!, reason: r.reason, ...r.details };
}

/** Upserts every snapshot host with its VM count and summed demand (older snapshots never overwrite newer rows). */
export async function saveInventory(pool: PgPool, snapshot: FleetSnapshot): Promise<void> {
  if (snapshot.hosts.length === 0) return;
  const demand = new Map(snapshot.hosts.map((h) => [h.hostId, { count: 0, cpu: 0, mem: 0 }]));
  for (const v of snapshot.vms) {
    const d = demand.get(v.hostId);
    if (!d) continue; // planFleet rejects such a snapshot; the inventory only records known hosts
    d.count += 1;
    d.cpu += v.cpuCores;
    d.mem += v.memBytes;
  }
  const hosts = snapshot.hosts;
  try {
    await pool.query(
      `insert into hosts (host_id, cpu_cores, mem_bytes, vm_count, cpu_p95_cores, mem_reserved_bytes, updated_at)
       select h, c, m, n, p, r, $7 from unnest($1::text[], $2::float8[], $3::bigint[], $4::int[], $5::float8[], $6::bigint[]) as t(h, c, m, n, p, r)
       on conflict (host_id) do update set
         cpu_cores = excluded.cpu_cores, mem_bytes = excluded.mem_bytes, vm_count = excluded.vm_count,
         cpu_p95_cores = excluded.cpu_p95_cores, mem_reserved_bytes = excluded.mem_reserved_bytes, updated_at = excluded.updated_at
       where hosts.updated_at <= excluded.updated_at`,
      [
        hosts.map((h) => h.hostId),
        hosts.map((h) => h.cpuCores),
        hosts.map((h) => Math.round(h.memBytes)),
        hosts.map((h) => demand.get(h.hostId)!.count),
        hosts.map((h) => demand.get(h.hostId)!.cpu),
        hosts.map((h) => Math.round(demand.get(h.hostId)!.mem)),
        new Date(snapshot.takenAt),
      ],
    );
  } catch (cause) {
    throw storeError('save the host inventory', cause);
  }
}

interface HostRow {
  host_id: string;
  cpu_cores: number;
  mem_bytes: string;
  vm_count: number;
  cpu_p95_cores: number;
  mem_reserved_bytes: string;
  updated_at: Date;
}

/** Every host in the inventory, sorted by host id. */
export async function listHosts(pool: PgPool): Promise<HostInventory[]> {
  let rows: HostRow[];
  try {
    rows = (await pool.query<HostRow>('select * from hosts order by host_id collate "C"')).rows;
  } catch (cause) {
    throw storeError('list hosts', cause);
  }
  return rows.map((r) => ({
    hostId: r.host_id,
    cpuCores: r.cpu_cores,
    memBytes: Number(r.mem_bytes),
    vmCount: r.vm_count,
    cpuP95Cores: r.cpu_p95_cores,
    memReservedBytes: Number(r.mem_reserved_bytes),
    updatedAt: r.updated_at.getTime(),
  }));
}

async function connect(pool: PgPool) {
  try {
    return await pool.connect();
  } catch (cause) {
    throw storeError('connect to PostgreSQL', cause);
  }
}

function storeError(what: string, cause: unknown): NovaError {
  if (cause instanceof NovaError) return cause;
  const msg = (cause as Error).message;
  const code = (cause as { code?: string }).code;
  const unreachable = /ECONNREFUSED|ECONNRESET|timeout|terminat/i.test(msg) || code === '57P01';
  // 42P01: a table is missing, i.e. SCHEDULER_MIGRATIONS were never applied to this database.
  const hint = code === '42P01' ? '; apply SCHEDULER_MIGRATIONS with migrate() first' : unreachable ? '; check DATABASE_URL and that PostgreSQL is up' : '';
  return new NovaError(unreachable ? 'SCHEDULER_STORE_UNREACHABLE' : 'SCHEDULER_STORE_FAILED', `could not ${what}: ${msg}${hint}`, { retriable: unreachable, cause });
}
