import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import fc from 'fast-check';
import { createLogger, migrate, type PgPool } from '../../core/index.ts';
import { SCHEDULER_MIGRATIONS, savePlan, type ActionPlan, type PlannedAction } from '../../scheduler/index.ts';
import { createTempDatabase, type TempDatabase } from '../../test/support/temp-database.ts';
import { MemoryFleet } from '../../test/support/memory-hypervisors.ts';
import { autoApprovable, automationOf } from './automation.ts';
import { DEFAULT_EXECUTOR_OPTIONS, Executor, type ExecutorOptions } from './executor.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { TERMINAL_ACTION_STATES, TERMINAL_PLAN_STATES } from './states.ts';
import { EXECUTION_MIGRATIONS, executionEvents, loadExecution, proposeExecution, transitionPlan } from './store.ts';

// The executor's logic against real PostgreSQL and an in-memory fleet behind the Hypervisor port
// (the real libvirt hosts are exercised in test/integration/execution-real.test.ts).
let db: TempDatabase;
const log = createLogger('executor-test', 'silent');

before(async () => {
  db = await createTempDatabase();
  await migrate(db.pool, [...SCHEDULER_MIGRATIONS, ...EXECUTION_MIGRATIONS]);
});
after(async () => db.drop());

const options = (over: Partial<ExecutorOptions> = {}): ExecutorOptions => ({ ...DEFAULT_EXECUTOR_OPTIONS, owner: 'test', waitMs: 5, settleMs: 0, migrationTimeoutMs: 2000, ...over });

function plan(moves: [vm: string, from: string, to: string, wave?: number][], offs: string[] = []): ActionPlan {
  const actions: PlannedAction[] = [
    ...moves.map(([vmId, fromHost, toHost, wave]) => ({ kind: 'migrate' as const, vmId, fromHost, toHost, cpuCores: 1, memBytes: 2 ** 30, reason: 'test', wave: wave ?? 0 })),
    ...offs.map((hostId) => ({ kind: 'power-off' as const, hostId, reason: 'test' })),
  ];
  return { createdAt: Date.now(), policy: { cpuTargetUtilization: 0.97, memTargetUtilization: 1 }, actions, hostsBefore: 0, hostsAfter: 0, hostsSaved: 0, loadAfter: [], unplaced: [] };
}

/** Stores a plan and registers it, approved. */
async function approvedPlan(p: ActionPlan, pool: PgPool = db.pool): Promise<number> {
  const id = await savePlan(pool, p);
  await proposeExecution(pool, id, p.actions, p.actions.map(() => false), 'test');
  await transitionPlan(pool, id, 'approved', 'operator alice', 'looks good');
  return id;
}

function fleet(hosts: string[], vms: [host: string, vm: string][]): MemoryFleet {
  const f = new MemoryFleet();
  for (const h of hosts) f.addHost(h);
  for (const [h, v] of vms) f.addVm(h, v);
  return f;
}

test('an approved plan runs wave by wave: every VM moves, every step and the plan end succeeded, each transition audited', async () => {
  const f = fleet(['a', 'b', 'c'], [['a', 'v1'], ['a', 'v2'], ['b', 'v3']]);
  const id = await approvedPlan(plan([['v1', 'a', 'c'], ['v2', 'a', 'c'], ['v3', 'b', 'c', 1]]));
  const state = await new Executor({ pool: db.pool, hypervisors: f, log, options: options() }).runPlan(id);
  assert.equal(state, 'succeeded');
  assert.deepEqual(['v1', 'v2', 'v3'].map((v) => f.where(v)), [['c'], ['c'], ['c']]);
  const exec = (await loadExecution(db.pool, id))!;
  assert.deepEqual(exec.actions.map((a) => [a.state, a.attempts]), [['succeeded', 1], ['succeeded', 1], ['succeeded', 1]]);
  // Wave 1 starts only after wave 0 ends.
  assert.deepEqual(f.started.map((m) => m.vm).slice(-1), ['v3']);
  const events = await executionEvents(db.pool, id);
  assert.deepEqual(events.filter((e) => e.seq === null).map((e) => e.toState), ['proposed', 'approved', 'running', 'succeeded']);
  assert.ok(events.some((e) => e.toState === 'approved' && e.actor === 'operator alice' && e.reason === 'looks good'));
});

test('a migration the target refuses leaves the VM on its source, fails its step and stops the plan', async () => {
  const f = fleet(['a', 'b', 'c'], [['a', 'v1'], ['a', 'v2']]);
  f.outcome = (vm) => (vm === 'v1' ? 'fail' : 'ok');
  const id = await approvedPlan(plan([['v1', 'a', 'b'], ['v2', 'a', 'c', 1]]));
  assert.equal(await new Executor({ pool: db.pool, hypervisors: f, log, options: options() }).runPlan(id), 'failed');
  assert.deepEqual([f.where('v1'), f.where('v2')], [['a'], ['a']]);
  const exec = (await loadExecution(db.pool, id))!;
  assert.deepEqual(exec.actions.map((a) => a.state), ['failed', 'skipped']);
  assert.equal(exec.actions[0]!.errorCode, 'HYPERVISOR_MIGRATION_FAILED');
  assert.match(exec.reason, /step 0 failed: .*b refused v1/);
});

test('the world changed under the plan: a VM that vanished or a full target stops it before acting', async () => {
  const f = fleet(['a', 'b'], [['a', 'v1']]);
  const id = await approvedPlan(plan([['gone', 'a', 'b'], ['v1', 'a', 'b', 1]]));
  assert.equal(await new Executor({ pool: db.pool, hypervisors: f, log, options: options() }).runPlan(id), 'failed');
  const exec = (await loadExecution(db.pool, id))!;
  assert.deepEqual(exec.actions.map((a) => a.state), ['skipped', 'skipped']);
  assert.match(exec.reason, /the world changed under the plan: gone is gone on a/);
  assert.deepEqual(f.started, []);

  const full = fleet(['a', 'b'], [['a', 'v1']]);
  full.memory.set('b', 2 ** 29);
  const id2 = await approvedPlan(plan([['v1', 'a', 'b']]));
  assert.equal(await new Executor({ pool: db.pool, hypervisors: full, log, options: options() }).runPlan(id2), 'failed');
  assert.match((await loadExecution(db.pool, id2))!.reason, /b has 0\.50 GiB free, v1 needs 1\.00 GiB \(the host filled up\)/);
});

test('a move whose target runs past the forecast band after settling is migrated back', async () => {
  const f = fleet(['a', 'b'], [['a', 'v1']]);
  const p = { ...plan([['v1', 'a', 'b']]), loadAfter: [{ hostId: 'b', cpuCores: 2, memBytes: 0, cpuCapacity: 8, memCapacity: 0, vmCount: 1 }] };
  const id = await approvedPlan(p);
  let calls = 0;
  // Before the move b is quiet; after it, it runs far above the 2 cores the plan predicted.
  const world = { hostCpu: async () => (calls++ === 0 ? 0.5 : 6) };
  assert.equal(await new Executor({ pool: db.pool, hypervisors: f, world, log, options: options({ settleMs: 1 }) }).runPlan(id), 'failed');
  assert.deepEqual(f.where('v1'), ['a']);
  const exec = (await loadExecution(db.pool, id))!;
  assert.equal(exec.actions[0]!.state, 'rolled_back');
  assert.match(exec.reason, /rolled back: b uses 6\.00 cores after settling, over the plan's 2\.00 \+ 25 %/);
});

test('a newer plan supersedes one that has not started; automation decides what needs a person', async () => {
  const p = plan([['db-1', 'a', 'b'], ['web-1', 'a', 'b']], ['a']);
  const levelOf = automationOf({ defaultLevel: 'manual', groups: [{ name: 'web', vmPattern: 'web-.*', level: 'full' }] });
  assert.deepEqual(autoApprovable(p.actions, levelOf), [false, true, false], 'db is manual, web full; the power-off waits for both');
  const older = await savePlan(db.pool, p);
  const e1 = await proposeExecution(db.pool, older, p.actions, autoApprovable(p.actions, levelOf), 'planner');
  assert.equal(e1.state, 'proposed');
  const allWeb = plan([['web-1', 'a', 'b']]);
  const newer = await savePlan(db.pool, allWeb);
  const e2 = await proposeExecution(db.pool, newer, allWeb.actions, autoApprovable(allWeb.actions, levelOf), 'planner');
  assert.equal(e2.state, 'approved', 'every step under full automation');
  const old = (await loadExecution(db.pool, older))!;
  assert.equal(old.state, 'superseded');
  assert.ok(old.actions.every((a) => a.state === 'skipped'));
  await assert.rejects(transitionPlan(db.pool, older, 'approved', 'bob', 'too late'), { code: 'EXECUTION_TRANSITION_INVALID' });
});

/** A pool whose connections can be killed like those of a process that died (kill -9). */
function killablePool(name: string): { pool: pg.Pool; kill: () => Promise<void> } {
  const pool = new pg.Pool({ connectionString: db.url, application_name: name, max: 4 });
  // A killed backend errors on every client it had: expected here, as for a dead process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return {
    pool,
    kill: async () => {
      // A dead process makes no new connection either.
      const dead = () => Promise.reject(new Error('the executor process is dead'));
      pool.connect = dead as typeof pool.connect;
      pool.query = dead as typeof pool.query;
      await db.pool.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [name]);
      // Termination is asynchronous: the dead process's locks are free once its backends are gone.
      for (let i = 0; i < 500; i++) {
        const left = await db.pool.query('select count(*)::int n from pg_stat_activity where application_name = $1', [name]);
        if (left.rows[0].n === 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`the backends of ${name} did not end`);
    },
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('an executor that dies mid-migration: a restart finishes the plan without repeating the move that completed', async () => {
  const f = fleet(['a', 'b', 'c'], [['a', 'v1'], ['a', 'v2'], ['a', 'v3']]);
  // v1's migration completes but the executor dies before recording it; v2's never happens.
  f.outcome = (vm) => (vm === 'v1' ? 'hang-after-move' : vm === 'v2' ? 'hang' : 'ok');
  const id = await approvedPlan(plan([['v1', 'a', 'b'], ['v2', 'a', 'c'], ['v3', 'a', 'c', 1]]));
  const crashed = killablePool(`exec-crash-${id}`);
  void new Executor({ pool: crashed.pool, hypervisors: f, log, options: options({ owner: 'first' }) }).runPlan(id).catch(() => undefined);
  await until(() => f.started.length === 2);
  await crashed.kill();
  f.crash();
  f.outcome = () => 'ok';
  const second = new Executor({ pool: db.pool, hypervisors: f, log, options: options({ owner: 'second' }) });
  // A second executor cannot run it while the first holds it; once the first is gone it recovers it.
  assert.equal(await second.recover(), 2);
  assert.equal(await second.runPlan(id), 'succeeded', JSON.stringify(await loadExecution(db.pool, id)));
  assert.deepEqual(['v1', 'v2', 'v3'].map((v) => f.where(v)), [['b'], ['c'], ['c']]);
  assert.deepEqual(f.started.filter((m) => m.vm === 'v1').length, 1, 'the completed move is not repeated');
  const exec = (await loadExecution(db.pool, id))!;
  assert.deepEqual(exec.actions.map((a) => [a.state, a.attempts]), [['succeeded', 1], ['succeeded', 2], ['succeeded', 1]]);
  const events = await executionEvents(db.pool, id);
  assert.ok(events.some((e) => e.seq === 0 && e.actor === 'second (recovery)' && /runs on b, so the migration completed/.test(e.reason)));
});

test('property: random plans, failures and crashes never exceed the limits, never run two actions on one VM, and leave nothing unfinished after recovery', async () => {
  const hosts = ['h0', 'h1', 'h2', 'h3', 'h4'];
  const caseArb = fc.record({
    moves: fc.array(fc.record({ vm: fc.nat(11), to: fc.nat(hosts.length - 1), wave: fc.nat(2) }), { minLength: 1, maxLength: 14 }),
    fail: fc.array(fc.nat(11), { maxLength: 3 }),
    crashAfter: fc.option(fc.nat(6), { nil: undefined }),
    perHost: fc.integer({ min: 1, max: 3 }),
  });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ moves, fail, crashAfter, perHost }) => {
      run++;
      const f = new MemoryFleet();
      for (const h of hosts) f.addHost(h);
      for (let v = 0; v < 12; v++) f.addVm(hosts[v % hosts.length]!, `vm${v}`);
      // A plan moves each VM at most once (as the planner's do), from where it runs.
      const seen = new Set<number>();
      const steps: [string, string, string, number][] = [];
      for (const m of moves) {
        if (seen.has(m.vm)) continue;
        seen.add(m.vm);
        const from = hosts[m.vm % hosts.length]!;
        const to = hosts[m.to]!;
        if (from !== to) steps.push([`vm${m.vm}`, from, to, m.wave]);
      }
      if (steps.length === 0) return;
      // Every run shares one database: the hourly limit (tested on its own) must not hold later runs back.
      const limits = { ...DEFAULT_LIMITS, maxConcurrentPerHost: perHost, maxMigrationsPerHour: 100_000 };
      f.outcome = (vm) => (fail.includes(Number(vm.slice(2))) ? 'fail' : 'ok');
      const id = await approvedPlan(plan(steps));
      if (crashAfter !== undefined) {
        const crashed = killablePool(`exec-prop-${run}-${id}`);
        const hangAt = crashAfter;
        let n = 0;
        const before = f.outcome;
        f.outcome = (vm, from, to) => (n++ === hangAt ? 'hang-after-move' : before(vm, from, to));
        void new Executor({ pool: crashed.pool, hypervisors: f, log, options: options({ owner: 'crashing', limits }) }).runPlan(id).catch(() => undefined);
        await until(() => f.started.length > hangAt || f.started.length === steps.length, 3000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 10));
        await crashed.kill();
        f.crash();
        f.outcome = before;
      }
      const ex = new Executor({ pool: db.pool, hypervisors: f, log, options: options({ owner: 'survivor', limits }) });
      await ex.recover();
      await ex.runPlan(id);
      const exec = (await loadExecution(db.pool, id))!;
      assert.ok(TERMINAL_PLAN_STATES.has(exec.state), `plan ends ${exec.state}`);
      for (const a of exec.actions) assert.ok(TERMINAL_ACTION_STATES.has(a.state), `step ${a.seq} ends ${a.state}`);
      for (const [h, peak] of f.peak) assert.ok(peak <= perHost, `${h} ran ${peak} migrations at once (limit ${perHost})`);
      for (const a of exec.actions) {
        const at = f.where(a.vmId!);
        if (a.state === 'succeeded') assert.deepEqual(at, [a.toHost], `${a.vmId} succeeded, so it runs on ${a.toHost}`);
        else assert.equal(at.length, 1, `${a.vmId} runs on exactly one host`);
      }
    }),
    { numRuns: 25 },
  );
});
