import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasCode, migrate, type PgPool } from '../core/index.ts';
import { createTempDatabase, type TempDatabase } from '../test/support/temp-database.ts';
import { ACTUATOR_MIGRATIONS, dryRunsForPlan, recordDryRun } from './audit-store.ts';
import type { DryRunReport } from './dry-run.ts';

// Real PostgreSQL (127.0.0.1:5432, trust auth), one database per run, dropped at the end.

const report: DryRunReport = {
  planCreatedAt: 1_700_000_000_000,
  ok: 1,
  blocked: 1,
  results: [
    {
      index: 0,
      action: { kind: 'migrate', vmId: "vm 'one'", fromHost: 'h1', toHost: 'h2', cpuCores: 1, memBytes: 2 ** 30, reason: 'pack' },
      status: 'ok',
      checks: ['h2 free 2048 MiB >= vm 1024 MiB', 'quotes " and \\ and , {braces} survive'],
      command: "virsh -c test:///h1.xml migrate --live 'vm '\\''one'\\''' test:///h2.xml",
    },
    {
      index: 1,
      action: { kind: 'power-off', hostId: 'h1', reason: 'empty' },
      status: 'blocked',
      checks: [],
      reason: 'host h1 unreachable: HYPERVISOR_UNREACHABLE: cannot connect',
      command: '# intent: power off host h1',
    },
  ],
};

describe('audit store (PostgreSQL)', () => {
  let db: TempDatabase;
  let pool: PgPool;
  before(async () => {
    db = await createTempDatabase();
    pool = db.pool;
  });
  after(() => db?.drop());

  it('says to apply the migrations when the table is missing', async () => {
    await assert.rejects(dryRunsForPlan(pool, 1), (e) => hasCode(e, 'ACTUATOR_AUDIT_FAILED') && !e.retriable && /ACTUATOR_MIGRATIONS/.test(e.message));
    await migrate(pool, ACTUATOR_MIGRATIONS);
    await migrate(pool, ACTUATOR_MIGRATIONS); // a second run applies nothing
    assert.deepEqual(await dryRunsForPlan(pool, 1), []);
  });

  it('stores every result of a dry run and reads them back in order', async () => {
    assert.equal(await recordDryRun(pool, 42, report), 2);
    const rows = await dryRunsForPlan(pool, 42);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((r) => [r.planId, r.actionIndex, r.kind, r.status, r.reason, r.checks, r.command]), [
      ['42', 0, 'migrate', 'ok', null, report.results[0]!.checks, report.results[0]!.command],
      ['42', 1, 'power-off', 'blocked', report.results[1]!.reason, [], report.results[1]!.command],
    ]);
    assert.ok(rows[0]!.checkedAt instanceof Date);
    assert.equal(rows[0]!.checkedAt.getTime(), rows[1]!.checkedAt.getTime(), 'one run, one checked_at');
    assert.deepEqual(await dryRunsForPlan(pool, 43), []);
  });

  it('keeps every run of a plan, oldest first', async () => {
    const second = { ...report, results: [report.results[1]!] };
    assert.equal(await recordDryRun(pool, 7, report), 2);
    assert.equal(await recordDryRun(pool, 7n, second), 1);
    const rows = await dryRunsForPlan(pool, '7');
    assert.deepEqual(rows.map((r) => r.actionIndex), [0, 1, 1]);
    assert.ok(rows[2]!.checkedAt.getTime() >= rows[1]!.checkedAt.getTime());
    assert.equal(await recordDryRun(pool, 7, { planCreatedAt: 0, results: [], ok: 0, blocked: 0 }), 0);
  });
});
