// /metrics and /healthz of the planner (`plan --every`) and the executor (`execute`), scraped from
// real runs of the commands: real PostgreSQL (a database of this file's own), real QuestDB tables
// under this test's prefix, and libvirt's test driver (node files in a temp folder) for the executor.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { proposeExecution, transitionPlan, writeTestNode } from '../../actuators/index.ts';
import { migrate, PROJECT_ROOT, questdbTable, freePort } from '../../core/index.ts';
import { SyntheticFleet } from '../../ingest/index.ts';
import { savePlan, type ActionPlan, type PlannedAction } from '../../scheduler/index.ts';
import { dropSampleTables, ensureSampleTables, QuestDbSampleStore, SAMPLE_TABLES } from '../../streams/index.ts';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { isolatedConfig, questdbFor } from './harness.ts';

const GiB = 2 ** 30;


/** `node cli/main.ts <args>` with `env` on top of ours; output kept for assertion messages. */
function run(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

/** Scrapes until `ready(body)` or the timeout; returns the last body. */
async function scrapeUntil(url: string, ready: (body: string) => boolean, timeoutMs = 120_000): Promise<string> {
  let body = '';
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(300)) {
    body = await fetch(url).then((r) => r.text(), () => '');
    if (ready(body)) break;
  }
  return body;
}

/** The value of one sample line (`name{labels} value`), or undefined. */
function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** A database of the suite's own: the gauges count every plan in it. */
function suiteDatabase(): () => TempDatabase {
  let db: TempDatabase | undefined;
  before(async () => {
    db = await createTempDatabase();
    await migrate(db.pool, ALL_MIGRATIONS);
  });
  after(async () => db?.drop());
  return () => db!;
}

describe('the planner service (plan --every)', () => {
  const database = suiteDatabase();
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  let libvirtDir = '';
  before(async () => {
    libvirtDir = await mkdtemp(join(tmpdir(), 'novacron-planner-metrics-'));
    // A lightly loaded fleet's last 26 hours, written straight to QuestDB: the planner finds moves.
    await ensureSampleTables(config, questdb);
    const fleet = new SyntheticFleet({ hosts: 4, vmsPerHost: 3, seed: 5, stepMs: 300_000 });
    const lastTs = Math.floor(Date.now() / 300_000) * 300_000;
    const store = new QuestDbSampleStore(config);
    const steps = 26 * 12;
    for (let k = 0; k < steps; k++) {
      const tick = fleet.tick(k, lastTs - (steps - 1 - k) * 300_000);
      await store.write([...tick.hosts.map((sample) => ({ kind: 'host' as const, sample })), ...tick.vms.map((sample) => ({ kind: 'vm' as const, sample }))]);
    }
    await store.close();
    for (const t of [SAMPLE_TABLES.vm, SAMPLE_TABLES.host]) await questdb.waitForWalApplied(questdbTable(config, t), 60_000);
  });
  after(async () => {
    await dropSampleTables(config, questdb).catch(() => undefined);
    await questdb.close();
    await rm(libvirtDir, { recursive: true, force: true });
  });

  it('runs cycles until SIGTERM; /metrics counts cycles, their duration, actions by kind and plans by state; /healthz answers', async () => {
    const port = await freePort();
    const p = run(['plan', '--every', '1'], {
      DATABASE_URL: database().url, NOVACRON_TABLE_PREFIX: config.questdb.tablePrefix, NOVACRON_PLANNER_METRICS_PORT: String(port),
      LIBVIRT_URI_TEMPLATE: `test://${libvirtDir}/{host}.xml`, NOVACRON_LOG_LEVEL: 'warn',
    });
    children.push(p.child);
    const url = `http://127.0.0.1:${port}`;
    const body = await scrapeUntil(`${url}/metrics`, (b) => (value(b, 'novacron_planner_cycles_total{outcome="ok"}') ?? 0) >= 2);
    assert.ok((value(body, 'novacron_planner_cycles_total{outcome="ok"}') ?? 0) >= 2, `${body.slice(0, 2000)}\n${p.output()}`);
    assert.equal(value(body, 'novacron_planner_cycles_total{outcome="failed"}'), 0);
    assert.ok((value(body, 'novacron_planner_cycle_seconds_count') ?? 0) >= 2);
    assert.ok((value(body, 'novacron_planner_cycle_seconds_sum') ?? 0) > 0);
    const last = value(body, 'novacron_planner_last_cycle_timestamp_seconds') ?? 0;
    assert.ok(Math.abs(last - Date.now() / 1000) < 120, `last cycle at ${last}`);
    // The fleet is light: every cycle plans migrations (and power-offs of the hosts it empties).
    assert.ok((value(body, 'novacron_planner_actions_total{kind="migrate"}') ?? 0) > 0, body);
    // Each cycle's plan supersedes the previous proposed one (manual automation): one proposed, the rest superseded.
    const proposed = value(body, 'novacron_planner_plans{state="proposed"}');
    assert.equal(proposed, 1);
    assert.ok((value(body, 'novacron_planner_plans{state="superseded"}') ?? 0) >= 1);
    assert.match(body, /novacron_planner_process_resident_memory_bytes \d/);

    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const report = (await health.json()) as { status: string; lastCycleOkAt: string | null; cyclesFailedInARow: number };
    assert.equal(report.status, 'ok');
    assert.equal(report.cyclesFailedInARow, 0);
    assert.ok(report.lastCycleOkAt);
    assert.equal((await fetch(`${url}/nope`)).status, 404);

    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output());
    assert.match(p.output(), /plan: stopped/);
  });

  it('--every takes seconds between 1 and 86400', async () => {
    const p = run(['plan', '--every', '0'], { DATABASE_URL: database().url });
    children.push(p.child);
    assert.equal(await p.exited, 1);
    assert.match(p.output(), /CLI_USAGE.*--every must be seconds between 1 and 86400, got "0"/);
  });
});

describe('the executor service (execute)', () => {
  const database = suiteDatabase();
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'novacron-executor-metrics-'));
    // libvirt's test driver: an empty host the executor may switch off, a busy one, and a host whose
    // node file does not exist (its libvirtd "does not answer").
    await writeTestNode(join(dir, 'libvirt'), { hostId: 'idle', cpus: 4, memBytes: 8 * GiB }, []);
    await writeTestNode(join(dir, 'libvirt'), { hostId: 'busy', cpus: 4, memBytes: 8 * GiB }, [{ name: 'web', vcpus: 1, memBytes: GiB, running: true }]);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  async function approvedPlan(actions: PlannedAction[]): Promise<number> {
    const plan: ActionPlan = { createdAt: Date.now(), policy: { cpuTargetUtilization: 0.97, memTargetUtilization: 1 }, actions, hostsBefore: 0, hostsAfter: 0, hostsSaved: 0, loadAfter: [], unplaced: [] };
    const id = await savePlan(database().pool, plan);
    await proposeExecution(database().pool, id, actions, actions.map(() => false), 'test');
    await transitionPlan(database().pool, id, 'approved', 'operator test', 'metrics test');
    return id;
  }

  it('carries approved plans out; /metrics has actions by state, durations by kind, failures by code; SIGTERM stops it', async () => {
    // One plan (registering a newer one supersedes an approved plan not yet started): the idle host
    // goes off, then the host with no libvirt behind it fails its step.
    await approvedPlan([{ kind: 'power-off', hostId: 'idle', reason: 'empty' }, { kind: 'power-off', hostId: 'gone', reason: 'no such host' }]);
    const port = await freePort();
    const p = run(['execute', '--no-telemetry'], {
      DATABASE_URL: database().url, NOVACRON_HOME: dir, LIBVIRT_URI_TEMPLATE: `test://${dir}/libvirt/{host}.xml`, NOVACRON_HOST_POWER: 'libvirt',
      NOVACRON_EXECUTOR_METRICS_PORT: String(port), NOVACRON_SETTLE_SECONDS: '0', NOVACRON_LOG_LEVEL: 'warn',
    });
    children.push(p.child);
    const url = `http://127.0.0.1:${port}`;
    const finished = (b: string) => (value(b, 'novacron_executor_actions_finished_total{kind="power-off",outcome="succeeded"}') ?? 0) >= 1
      && (value(b, 'novacron_executor_actions_finished_total{kind="power-off",outcome="failed"}') ?? 0) >= 1;
    const body = await scrapeUntil(`${url}/metrics`, finished);
    assert.ok(finished(body), `${body.slice(0, 3000)}\n${p.output()}`);
    assert.equal(value(body, 'novacron_executor_action_seconds_count{kind="power-off",outcome="succeeded"}'), 1);
    assert.ok((value(body, 'novacron_executor_action_seconds_sum{kind="power-off",outcome="succeeded"}') ?? 0) > 0);
    const failures = body.split('\n').filter((l) => l.startsWith('novacron_executor_action_failures_total{'));
    assert.equal(failures.length, 1, body);
    // virsh cannot open the missing host's node file: the hypervisor's own code, not a generic one.
    assert.match(failures[0]!, /^novacron_executor_action_failures_total\{code="HYPERVISOR_UNREACHABLE"\} 1$/);
    console.log(`executor failure counted: ${failures[0]}`);
    // From PostgreSQL: the idle host's step succeeded, the unreachable one's was skipped, nothing runs.
    assert.equal(value(body, 'novacron_executor_actions{state="succeeded"}'), 1);
    assert.equal(value(body, 'novacron_executor_actions{state="skipped"}'), 1);
    assert.equal(value(body, 'novacron_executor_actions{state="running"}'), 0);
    assert.equal(value(body, 'novacron_executor_plans_executing'), 0);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);

    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output());
  });
});
