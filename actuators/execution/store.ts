import type pg from 'pg';
import { NovaError, type Migration, type PgPool } from '../../core/index.ts';
import type { PlannedAction } from '../../scheduler/index.ts';
import { ACTION_STATES, checkActionTransition, checkPlanTransition, PLAN_STATES, type ActionState, type PlanState } from './states.ts';

/**
 * Where execution state lives: one row per plan under execution and per action, every transition
 * as an event (who, when, why). The executor never keeps state that is not here, so a restart
 * resumes from these rows.
 */
export const EXECUTION_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 'actuators-002',
    sql: `
      create table plan_executions (
        plan_id bigint primary key references plans on delete cascade,
        state text not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        reason text not null default ''
      );
      create index plan_executions_state on plan_executions (state, plan_id);
      create table action_executions (
        plan_id bigint not null references plan_executions on delete cascade,
        seq int not null,
        state text not null,
        kind text not null,
        vm_id text,
        from_host text,
        to_host text,
        host_id text,
        wave int not null default 0,
        -- A repeated request for the same step finds this row instead of acting twice.
        idempotency_key text not null unique,
        attempts int not null default 0,
        owner text,
        started_at timestamptz,
        finished_at timestamptz,
        seconds double precision,
        error_code text,
        error text,
        primary key (plan_id, seq)
      );
      create index action_executions_started on action_executions (started_at) where kind = 'migrate';
      create table execution_events (
        id bigserial primary key,
        plan_id bigint not null,
        seq int,
        from_state text,
        to_state text not null,
        actor text not null,
        reason text not null,
        at timestamptz not null default now()
      );
      create index execution_events_plan on execution_events (plan_id, id);`,
  },
]);

/** One action of a plan under execution. */
export interface ActionRow {
  planId: number;
  seq: number;
  state: ActionState;
  kind: 'migrate' | 'power-off';
  vmId: string | null;
  fromHost: string | null;
  toHost: string | null;
  hostId: string | null;
  wave: number;
  idempotencyKey: string;
  attempts: number;
  owner: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  seconds: number | null;
  errorCode: string | null;
  error: string | null;
}

/** A plan under execution with its actions (in plan order). */
export interface ExecutionRow {
  planId: number;
  state: PlanState;
  createdAt: Date;
  updatedAt: Date;
  reason: string;
  actions: ActionRow[];
}

/** One audited transition. */
export interface ExecutionEvent {
  planId: number;
  seq: number | null;
  fromState: string | null;
  toState: string;
  actor: string;
  reason: string;
  at: Date;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

function storeError(what: string, cause: unknown): NovaError {
  const code = (cause as { code?: string }).code;
  if (code === '42P01') return new NovaError('EXECUTION_STORE_FAILED', `cannot ${what}: the execution tables do not exist; run the migrations (EXECUTION_MIGRATIONS)`, { cause });
  return new NovaError('EXECUTION_STORE_FAILED', `cannot ${what}: ${(cause as Error).message}`, { retriable: true, cause });
}

async function inTransaction<T>(pool: PgPool, what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const out = await fn(client);
    await client.query('commit');
    return out;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    if (err instanceof NovaError) throw err;
    throw storeError(what, err);
  } finally {
    client.release();
  }
}

async function event(c: Queryable, planId: number, seq: number | null, from: string | null, to: string, actor: string, reason: string): Promise<void> {
  await c.query('insert into execution_events (plan_id, seq, from_state, to_state, actor, reason) values ($1, $2, $3, $4, $5, $6)', [planId, seq, from, to, actor, reason]);
}

/** The idempotency key of a plan's step: the same step always has the same key. */
export function idempotencyKey(planId: number, seq: number): string {
  return `plan-${planId}-step-${seq}`;
}

/**
 * Registers a stored plan for execution: the plan proposed, each action proposed or, where the
 * automation level lets it go without a person, approved (a plan whose actions are all approved
 * is approved). Older plans that have not started are superseded: a newer plan saw a newer fleet.
 */
export async function proposeExecution(pool: PgPool, planId: number, actions: readonly PlannedAction[], autoApproved: readonly boolean[], actor: string): Promise<ExecutionRow> {
  await inTransaction(pool, `register plan ${planId} for execution`, async (c) => {
    const older = await c.query<{ plan_id: string; state: PlanState }>(`select plan_id, state from plan_executions where plan_id < $1 and state in ('proposed', 'approved') for update`, [planId]);
    for (const o of older.rows) {
      await c.query(`update plan_executions set state = 'superseded', updated_at = now(), reason = $2 where plan_id = $1`, [o.plan_id, `superseded by plan ${planId}`]);
      await c.query(`update action_executions set state = 'skipped', finished_at = now(), error = $2 where plan_id = $1 and state in ('proposed', 'approved')`, [o.plan_id, `plan superseded by plan ${planId}`]);
      await event(c, Number(o.plan_id), null, o.state, 'superseded', actor, `a newer plan (${planId}) saw a newer fleet`);
    }
    const allApproved = actions.length > 0 && autoApproved.every(Boolean);
    // Power-offs run after the plan's last wave of migrations.
    const powerOffWave = 1 + Math.max(-1, ...actions.map((a) => (a.kind === 'migrate' ? (a.wave ?? 0) : -1)));
    const state: PlanState = allApproved ? 'approved' : 'proposed';
    await c.query('insert into plan_executions (plan_id, state, reason) values ($1, $2, $3)', [planId, state, allApproved ? 'every action is under full automation' : 'waiting for approval']);
    await event(c, planId, null, null, 'proposed', actor, 'plan stored');
    if (allApproved) await event(c, planId, null, 'proposed', 'approved', actor, 'automation level full for every VM it moves');
    if (actions.length > 0) {
      await c.query(
        `insert into action_executions (plan_id, seq, state, kind, vm_id, from_host, to_host, host_id, wave, idempotency_key)
         select $1, u.seq, u.state, u.kind, u.vm_id, u.from_host, u.to_host, u.host_id, u.wave, u.key
           from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[])
             as u(seq, state, kind, vm_id, from_host, to_host, host_id, wave, key)`,
        [
          planId,
          actions.map((_, i) => i),
          autoApproved.map((a) => (a ? 'approved' : 'proposed')),
          actions.map((a) => a.kind),
          actions.map((a) => (a.kind === 'migrate' ? a.vmId : null)),
          actions.map((a) => (a.kind === 'migrate' ? a.fromHost : null)),
          actions.map((a) => (a.kind === 'migrate' ? a.toHost : null)),
          actions.map((a) => (a.kind === 'power-off' ? a.hostId : null)),
          actions.map((a) => (a.kind === 'migrate' ? (a.wave ?? 0) : powerOffWave)),
          actions.map((_, i) => idempotencyKey(planId, i)),
        ],
      );
    }
  });
  return (await loadExecution(pool, planId))!;
}

/** Moves a plan to `to` (checked against its life cycle), with the audit event; returns the state it left. */
export async function transitionPlan(pool: PgPool, planId: number, to: PlanState, actor: string, reason: string, expect?: readonly PlanState[]): Promise<PlanState> {
  return inTransaction(pool, `move plan ${planId} to ${to}`, async (c) => {
    const row = await c.query<{ state: PlanState }>('select state from plan_executions where plan_id = $1 for update', [planId]);
    const from = row.rows[0]?.state;
    if (from === undefined) throw new NovaError('EXECUTION_PLAN_NOT_FOUND', `plan ${planId} is not registered for execution`, { details: { planId } });
    if (expect && !expect.includes(from)) throw new NovaError('EXECUTION_TRANSITION_INVALID', `plan ${planId} is ${from}; it must be ${expect.join(' or ')} to become ${to}`, { details: { planId, from, to } });
    checkPlanTransition(from, to);
    await c.query('update plan_executions set state = $2, updated_at = now(), reason = $3 where plan_id = $1', [planId, to, reason]);
    await event(c, planId, null, from, to, actor, reason);
    if (to === 'approved') {
      const approved = await c.query<{ seq: number }>(`update action_executions set state = 'approved' where plan_id = $1 and state = 'proposed' returning seq`, [planId]);
      for (const a of approved.rows) await event(c, planId, a.seq, 'proposed', 'approved', actor, reason);
    }
    if (to === 'rejected' || to === 'superseded') {
      const open = await c.query<{ seq: number; state: string }>(`select seq, state from action_executions where plan_id = $1 and state in ('proposed', 'approved') order by seq for update`, [planId]);
      await c.query(`update action_executions set state = 'skipped', finished_at = now(), error = $2 where plan_id = $1 and state in ('proposed', 'approved')`, [planId, reason]);
      for (const a of open.rows) await event(c, planId, a.seq, a.state, 'skipped', actor, reason);
    }
    return from;
  });
}

/** Fields an action transition may set. */
export interface ActionUpdate {
  owner?: string | null;
  startedAt?: boolean;
  finished?: boolean;
  seconds?: number | null;
  errorCode?: string | null;
  error?: string | null;
  attempt?: boolean;
}

/** Moves an action to `to` (checked against its life cycle), with the audit event. */
export async function transitionAction(pool: PgPool, planId: number, seq: number, to: ActionState, actor: string, reason: string, update: ActionUpdate = {}): Promise<ActionState> {
  return inTransaction(pool, `move step ${seq} of plan ${planId} to ${to}`, async (c) => {
    const row = await c.query<{ state: ActionState }>('select state from action_executions where plan_id = $1 and seq = $2 for update', [planId, seq]);
    const from = row.rows[0]?.state;
    if (from === undefined) throw new NovaError('EXECUTION_ACTION_NOT_FOUND', `plan ${planId} has no step ${seq}`, { details: { planId, seq } });
    checkActionTransition(from, to);
    await c.query(
      `update action_executions set state = $3,
         owner = case when $4::boolean then $5 else owner end,
         started_at = case when $6::boolean then now() else started_at end,
         finished_at = case when $7::boolean then now() else finished_at end,
         seconds = case when $8::boolean then $9 else seconds end,
         error_code = case when $10::boolean then $11 else error_code end,
         error = case when $12::boolean then $13 else error end,
         attempts = attempts + case when $14::boolean then 1 else 0 end
       where plan_id = $1 and seq = $2`,
      [
        planId, seq, to,
        update.owner !== undefined, update.owner ?? null,
        update.startedAt === true,
        update.finished === true,
        update.seconds !== undefined, update.seconds ?? null,
        update.errorCode !== undefined, update.errorCode ?? null,
        update.error !== undefined, update.error ?? null,
        update.attempt === true,
      ],
    );
    await event(c, planId, seq, from, to, actor, reason);
    return from;
  });
}

function toAction(r: Record<string, unknown>): ActionRow {
  return {
    planId: Number(r.plan_id),
    seq: Number(r.seq),
    state: r.state as ActionState,
    kind: r.kind as ActionRow['kind'],
    vmId: (r.vm_id as string | null) ?? null,
    fromHost: (r.from_host as string | null) ?? null,
    toHost: (r.to_host as string | null) ?? null,
    hostId: (r.host_id as string | null) ?? null,
    wave: Number(r.wave),
    idempotencyKey: r.idempotency_key as string,
    attempts: Number(r.attempts),
    owner: (r.owner as string | null) ?? null,
    startedAt: (r.started_at as Date | null) ?? null,
    finishedAt: (r.finished_at as Date | null) ?? null,
    seconds: r.seconds === null ? null : Number(r.seconds),
    errorCode: (r.error_code as string | null) ?? null,
    error: (r.error as string | null) ?? null,
  };
}

/** A plan's execution state with its actions, or null when it was never registered. */
export async function loadExecution(pool: PgPool, planId: number): Promise<ExecutionRow | null> {
  try {
    const plan = await pool.query<{ plan_id: string; state: PlanState; created_at: Date; updated_at: Date; reason: string }>('select * from plan_executions where plan_id = $1', [planId]);
    const p = plan.rows[0];
    if (!p) return null;
    const actions = await pool.query('select * from action_executions where plan_id = $1 order by seq', [planId]);
    return { planId: Number(p.plan_id), state: p.state, createdAt: p.created_at, updatedAt: p.updated_at, reason: p.reason, actions: actions.rows.map(toAction) };
  } catch (err) {
    throw storeError(`read plan ${planId}'s execution`, err);
  }
}

/** Plans under execution, newest first, optionally only in some states; `limit` bounds the page. */
export async function listExecutions(pool: PgPool, opts: { states?: readonly PlanState[]; limit?: number; beforePlanId?: number } = {}): Promise<Omit<ExecutionRow, 'actions'>[]> {
  try {
    const r = await pool.query<{ plan_id: string; state: PlanState; created_at: Date; updated_at: Date; reason: string }>(
      `select * from plan_executions where ($1::text[] is null or state = any($1)) and ($2::bigint is null or plan_id < $2) order by plan_id desc limit $3`,
      [opts.states ? [...opts.states] : null, opts.beforePlanId ?? null, opts.limit ?? 50],
    );
    return r.rows.map((p) => ({ planId: Number(p.plan_id), state: p.state, createdAt: p.created_at, updatedAt: p.updated_at, reason: p.reason }));
  } catch (err) {
    throw storeError('list plan executions', err);
  }
}

/** The audit trail of a plan, oldest first. */
export async function executionEvents(pool: PgPool, planId: number): Promise<ExecutionEvent[]> {
  try {
    const r = await pool.query<{ plan_id: string; seq: number | null; from_state: string | null; to_state: string; actor: string; reason: string; at: Date }>('select * from execution_events where plan_id = $1 order by id', [planId]);
    return r.rows.map((e) => ({ planId: Number(e.plan_id), seq: e.seq, fromState: e.from_state, toState: e.to_state, actor: e.actor, reason: e.reason, at: e.at }));
  } catch (err) {
    throw storeError(`read plan ${planId}'s events`, err);
  }
}

/** Migrations started in the last `ms` milliseconds (any plan): the hourly limit counts them. */
export async function migrationsStartedSince(pool: PgPool, ms: number): Promise<number> {
  try {
    const r = await pool.query<{ n: string }>(`select count(*) n from action_executions where kind = 'migrate' and started_at > now() - ($1::double precision * interval '1 millisecond')`, [ms]);
    return Number(r.rows[0]!.n);
  } catch (err) {
    throw storeError('count recent migrations', err);
  }
}

/** Actions some executor marked running: after a crash, recovery decides what really happened. */
export async function runningActions(pool: PgPool): Promise<ActionRow[]> {
  try {
    const r = await pool.query(`select * from action_executions where state = 'running' order by plan_id, seq`);
    return r.rows.map(toAction);
  } catch (err) {
    throw storeError('list running actions', err);
  }
}

/** VMs an action of another plan is running on now (never two actions on one VM at once). */
export async function busyVms(pool: PgPool, exceptPlanId: number): Promise<Set<string>> {
  try {
    const r = await pool.query<{ vm_id: string }>(`select vm_id from action_executions where state = 'running' and vm_id is not null and plan_id <> $1`, [exceptPlanId]);
    return new Set(r.rows.map((x) => x.vm_id));
  } catch (err) {
    throw storeError('list busy VMs', err);
  }
}

/**
 * Runs `fn` holding plan `planId`'s advisory lock, so two executors never run one plan; returns
 * undefined (without running it) when another process holds it.
 */
export async function withPlanLock<T>(pool: PgPool, planId: number, fn: () => Promise<T>): Promise<T | undefined> {
  const client = await pool.connect();
  try {
    // Namespace 7 keeps these locks apart from any other advisory lock in the database.
    const got = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(7, $1::int) ok', [planId]);
    if (!got.rows[0]!.ok) return undefined;
    try {
      return await fn();
    } finally {
      await client.query('select pg_advisory_unlock(7, $1::int)', [planId]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

/** How many plans and actions are in each state, fleet-wide (the executor's and planner's /metrics gauges). */
export async function executionStateCounts(pool: PgPool): Promise<{ plans: Record<PlanState, number>; actions: Record<ActionState, number> }> {
  const plans = Object.fromEntries(PLAN_STATES.map((s) => [s, 0])) as Record<PlanState, number>;
  const actions = Object.fromEntries(ACTION_STATES.map((s) => [s, 0])) as Record<ActionState, number>;
  try {
    const [p, a] = await Promise.all([
      pool.query<{ state: PlanState; n: string }>('select state, count(*) n from plan_executions group by state'),
      pool.query<{ state: ActionState; n: string }>('select state, count(*) n from action_executions group by state'),
    ]);
    for (const row of p.rows) if (row.state in plans) plans[row.state] = Number(row.n);
    for (const row of a.rows) if (row.state in actions) actions[row.state] = Number(row.n);
    return { plans, actions };
  } catch (err) {
    throw storeError('count plans and actions by state', err);
  }
}

/** How many of each plan's actions are in each state (one query). */
export async function actionStateCounts(pool: PgPool, planIds: readonly number[]): Promise<Map<number, Record<ActionState, number>>> {
  const zero = () => Object.fromEntries(ACTION_STATES.map((s) => [s, 0])) as Record<ActionState, number>;
  const out = new Map(planIds.map((id) => [id, zero()]));
  if (planIds.length === 0) return out;
  try {
    const r = await pool.query<{ plan_id: string; state: ActionState; n: string }>('select plan_id, state, count(*) n from action_executions where plan_id = any($1::bigint[]) group by plan_id, state', [[...planIds]]);
    for (const row of r.rows) {
      const counts = out.get(Number(row.plan_id));
      if (counts && row.state in counts) counts[row.state] = Number(row.n);
    }
    return out;
  } catch (err) {
    throw storeError("count the plans' actions", err);
  }
}
