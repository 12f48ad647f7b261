// The executor on two real libvirtd hosts with QEMU guests (stack/libvirt-hosts.ts): a plan
// from the scheduler moves a guest from A to B and is verified there; a target that refuses leaves
// the guest running on A with the step failed; and `kill -9` of an executor process in the middle
// of a plan, then a restart, finishes the plan without repeating a completed step.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_EXECUTOR_OPTIONS, Executor, executionEvents, hypervisorFactory, loadExecution, proposeExecution, snapshotFromHypervisors, transitionPlan, UriTemplateDirectory, type ActionOutcome, type ExecutorOptions, type Hypervisor } from '../../actuators/index.ts';
import { createLogger, migrate, PROJECT_ROOT } from '../../core/index.ts';
import { planFleet, savePlan } from '../../scheduler/index.ts';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { acquireRealHosts, type RealHosts } from '../../stack/index.ts';

const acquired = await acquireRealHosts();
const skip = 'skip' in acquired ? acquired.skip : false;
const hosts = 'skip' in acquired ? undefined : (acquired as RealHosts);
const log = createLogger('execution-real', 'silent');
let db: TempDatabase;

before(async () => {
  if (skip) return;
  db = await createTempDatabase();
  await migrate(db.pool, ALL_MIGRATIONS);
});
after(async () => {
  await hosts?.teardown();
  await db?.drop();
});

const directory = () => new UriTemplateDirectory('test:///unused/{host}.xml', hypervisorFactory('virsh'), { 'host-a': hosts!.uriA, 'host-b': hosts!.uriB });

/**
 * The two real hosts as the planner sees them, host A in maintenance: the plan evacuates its
 * guests to B (an operator's everyday reason to move a VM).
 */
async function evacuationPlan(guests: string[]): Promise<number> {
  const snapshot = await snapshotFromHypervisors(directory(), [{ hostId: 'host-a', maintenance: true }, { hostId: 'host-b' }], { takenAt: Date.now() });
  // Only this test's guests (other tests may have guests on the hosts too).
  snapshot.vms = snapshot.vms.filter((v) => guests.includes(v.vmId));
  const plan = planFleet(snapshot);
  assert.deepEqual(plan.actions.filter((x) => x.kind === 'migrate').map((x) => x.kind === 'migrate' && `${x.vmId} ${x.fromHost}->${x.toHost}`), guests.map((g) => `${g} host-a->host-b`));
  const id = await savePlan(db.pool, plan);
  await proposeExecution(db.pool, id, plan.actions, plan.actions.map(() => false), 'planner');
  await transitionPlan(db.pool, id, 'approved', 'operator test', 'evacuate host-a');
  return id;
}

async function where(name: string, a: Hypervisor, b: Hypervisor): Promise<[string | undefined, string | undefined]> {
  const [da, dbm] = await Promise.all([a.domain(name), b.domain(name)]);
  return [da?.state, dbm?.state];
}

const options = (over: Partial<ExecutorOptions> = {}): ExecutorOptions => ({ ...DEFAULT_EXECUTOR_OPTIONS, owner: 'test', settleMs: 0, waitMs: 200, migrationTimeoutMs: 120_000, migrateUriFor: () => hosts!.migrateUri, ...over });

describe('the executor on two real libvirtd hosts', { skip }, () => {
  it('carries out a plan from the scheduler: the guest runs on B, verified, the step and the plan succeeded', async () => {
    const guest = await hosts!.bootGuest();
    const id = await evacuationPlan([guest]);
    const outcomes: ActionOutcome[] = [];
    const state = await new Executor({ pool: db.pool, hypervisors: directory(), log, options: options(), onAction: (_, o) => outcomes.push(o) }).runPlan(id);
    assert.equal(state, 'succeeded');
    const dir = directory();
    assert.deepEqual(await where(guest, dir.forHost('host-a'), dir.forHost('host-b')), [undefined, 'running']);
    const exec = (await loadExecution(db.pool, id))!;
    assert.deepEqual(exec.actions.map((x) => [x.state, x.attempts]), [['succeeded', 1]]);
    const o = outcomes[0]!;
    console.log(`real migration: ${(o.hypervisorMs / 1000).toFixed(2)} s; executor overhead for the step: ${(o.totalMs - o.hypervisorMs).toFixed(0)} ms`);
    assert.ok(o.hypervisorMs < 30_000);
  });

  it('a target that refuses the guest: it keeps running on A, the step is failed with the hypervisor\'s code, the plan stops', async () => {
    const guest = await hosts!.bootGuest();
    const id = await evacuationPlan([guest]);
    const removeDecoy = await hosts!.defineDecoyOnB(guest);
    try {
      const state = await new Executor({ pool: db.pool, hypervisors: directory(), log, options: options() }).runPlan(id);
      assert.equal(state, 'failed');
      const dir = directory();
      assert.equal((await where(guest, dir.forHost('host-a'), dir.forHost('host-b')))[0], 'running');
      const exec = (await loadExecution(db.pool, id))!;
      assert.equal(exec.actions[0]!.state, 'failed');
      assert.match(exec.actions[0]!.errorCode ?? '', /^HYPERVISOR_/);
      assert.match(exec.reason, /step 0 failed/);
    } finally {
      await removeDecoy();
    }
  });

  it('kill -9 of the executor in the middle of a plan, then a restart, finishes it without repeating a completed step', async () => {
    // Guests with real memory to copy, at 8 MiB/s: each migration takes a few seconds.
    const guests = [await hosts!.bootGuest({ filled: true }), await hosts!.bootGuest({ filled: true })];
    const id = await evacuationPlan(guests);
    const env = {
      ...process.env,
      DATABASE_URL: db.url,
      NOVACRON_LIBVIRT_URIS: JSON.stringify({ 'host-a': hosts!.uriA, 'host-b': hosts!.uriB }),
      NOVACRON_MIGRATE_URI_TEMPLATE: hosts!.migrateUri,
      NOVACRON_MIGRATION_BANDWIDTH_MIBPS: '8',
      NOVACRON_MAX_MIGRATIONS_PER_HOST: '1',
      NOVACRON_SETTLE_SECONDS: '0',
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'execute', '--plan', String(id), '--no-telemetry'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    // Wait until the first step succeeded and the second is running, then kill the process outright.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const exec = (await loadExecution(db.pool, id))!;
      if (exec.actions[0]!.state === 'succeeded' && exec.actions[1]!.state === 'running') break;
      assert.ok(Date.now() < deadline && child.exitCode === null, `the executor never reached the second step: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.equal((await loadExecution(db.pool, id))!.actions[1]!.state, 'running', 'killed mid-step');

    const restarted = new Executor({ pool: db.pool, hypervisors: directory(), log, options: options({ owner: 'restarted' }) });
    assert.equal(await restarted.recover(), 1);
    assert.equal(await restarted.runPlan(id), 'succeeded');
    const dir = directory();
    for (const g of guests) assert.deepEqual(await where(g, dir.forHost('host-a'), dir.forHost('host-b')), [undefined, 'running'], `${g} runs on B only`);
    const exec = (await loadExecution(db.pool, id))!;
    assert.deepEqual(exec.actions.map((x) => x.state), ['succeeded', 'succeeded']);
    assert.equal(exec.actions[0]!.attempts, 1, 'the step completed before the kill is not repeated');
    const events = await executionEvents(db.pool, id);
    assert.equal(events.filter((e) => e.seq === 0 && e.toState === 'running').length, 1);
    const recovered = events.find((e) => e.seq === 1 && e.actor === 'restarted (recovery)');
    assert.ok(recovered, 'the restart decided what became of the interrupted step');
    console.log(`kill -9 recovery: ${recovered.reason}`);
  });
});
