import { NovaError, type Migration, type PgPool } from '../core/index.ts';
import type { DryRunReport } from './dry-run.ts';

/** Schema of the actuators' audit tables, applied with core's migrate(). */
export const ACTUATOR_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 'actuators-001',
    sql: `
      create table actuator_dry_runs (
        id bigserial primary key,
        plan_id bigint not null,
        action_index int not null,
        kind text not null,
        status text not null,
        reason text,
        checks jsonb not null,
        command text not null,
        checked_at timestamptz not null default now()
      );
      create index actuator_dry_runs_plan on actuator_dry_runs (plan_id, checked_at, action_index);
    `,
  },
]);

/** One stored dry-run verdict. */
export interface DryRunRow {
  id: string;
  /** bigint, returned as pg returns it: a decimal string. */
  planId: string;
  actionIndex: number;
  kind: string;
  status: 'ok' | 'blocked';
  reason: string | null;
  checks: string[];
  command: string;
  checkedAt: Date;
}

/** Stores every result of a dry run of plan `planId` (one insert, one transaction); returns the row count. */
export async function recordDryRun(pool: PgPool, planId: number | bigint | string, report: DryRunReport): Promise<number> {
  if (report.results.length === 0) return 0;
  const r = report.results;
  // One statement over parallel arrays: any number of actions, 7 parameters, no placeholder arithmetic.
  const values = [
    String(planId),
    r.map((x) => x.index),
    r.map((x) => x.action.kind),
    r.map((x) => x.status),
    r.map((x) => x.reason ?? null),
    r.map((x) => JSON.stringify(x.checks)),
    r.map((x) => x.command),
  ];
  const client = await pool.connect();
  try {
    await client.query('begin');
    // now() is the transaction's start, so one run's rows share one checked_at.
    const inserted = await client.query(
      `insert into actuator_dry_runs (plan_id, action_index, kind, status, reason, checks, command)
       select $1::bigint, u.action_index, u.kind, u.status, u.reason, u.checks::jsonb, u.command
         from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
           as u(action_index, kind, status, reason, checks, command)`,
      values,
    );
    await client.query('commit');
    return inserted.rowCount ?? 0;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw auditError(err, `cannot record the dry run of plan ${String(planId)}`);
  } finally {
    client.release();
  }
}

/** Every stored dry-run verdict of a plan, oldest run first, in action order. */
export async function dryRunsForPlan(pool: PgPool, planId: number | bigint | string): Promise<DryRunRow[]> {
  const { rows } = await pool.query<{
    id: string; plan_id: string; action_index: number; kind: string; status: 'ok' | 'blocked';
    reason: string | null; checks: string[]; command: string; checked_at: Date;
  }>(
    `select id, plan_id, action_index, kind, status, reason, checks, command, checked_at
       from actuator_dry_runs where plan_id = $1 order by checked_at, action_index, id`,
    [String(planId)],
  ).catch((err: unknown) => {
    throw auditError(err, `cannot read the dry runs of plan ${String(planId)}`);
  });
  return rows.map((r) => ({
    id: r.id, planId: r.plan_id, actionIndex: r.action_index, kind: r.kind, status: r.status,
    reason: r.reason, checks: r.checks, command: r.command, checkedAt: r.checked_at,
  }));
}

function auditError(cause: unknown, what: string): NovaError {
  // 42P01 undefined_table: the schema was never migrated, which no retry fixes.
  const missingTable = (cause as { code?: string }).code === '42P01';
  return new NovaError(
    'ACTUATOR_AUDIT_FAILED',
    `${what}: ${(cause as Error).message}; ${missingTable ? 'apply ACTUATOR_MIGRATIONS with migrate()' : 'check DATABASE_URL and that PostgreSQL is up'}`,
    { retriable: !missingTable, cause },
  );
}
