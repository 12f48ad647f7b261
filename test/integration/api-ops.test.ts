import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { proposeExecution } from '../../actuators/index.ts';
import { buildApi, createApiKey } from '../../api/index.ts';
import { apiDeps } from '../../cli/api-deps.ts';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { migrate, questdbPgUrl, QuestDbClient, type MessageBus } from '../../core/index.ts';
import { savePlan, type ActionPlan } from '../../scheduler/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { busFor, eventually, isolatedConfig, questdbFor, testLogger } from './harness.ts';
import { sample } from '../../api/testing.ts';

/** A TCP port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

// Liveness, readiness, metrics and the rate limit of the API wired as ./novacron serve wires it, against the real servers.
describe('API health, readiness, metrics and rate limit (real PostgreSQL, QuestDB, Kafka)', () => {
  const config = isolatedConfig();
  const log = testLogger();
  let db: TempDatabase;
  let bus: MessageBus;
  let questdb: QuestDbClient;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    db = await createTempDatabase();
    await migrate(db.pool, ALL_MIGRATIONS);
    bus = busFor(config);
    questdb = questdbFor(config);
  });

  after(async () => {
    for (const step of [...cleanup.reverse(), () => questdb?.close(), () => db?.drop()]) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('is ready when PostgreSQL, QuestDB and Kafka answer; /healthz and /readyz need no key', async () => {
    const api = await buildApi(apiDeps(db.pool, questdb, bus, log));
    cleanup.push(() => api.close());
    const ready = await api.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(ready.json().checks, { postgres: 'ok', questdb: 'ok', kafka: 'ok' });
    assert.deepEqual(ready.json().down, []);
    const live = await api.inject({ url: '/healthz' });
    assert.equal(live.statusCode, 200);
    assert.deepEqual(Object.keys(live.json()).sort(), ['pid', 'status', 'uptimeSeconds']);
    const spec = (await api.inject({ url: '/openapi.json' })).json();
    for (const path of ['/healthz', '/readyz', '/metrics']) assert.deepEqual(spec.paths[path].get.security, [], `${path} is public`);
  });

  it('answers 503 naming QuestDB and Kafka when they are unreachable (closed ports), while liveness and PostgreSQL-backed routes still work', async () => {
    const unreachable = isolatedConfig({ QUESTDB_PG_PORT: String(await closedPort()), KAFKA_BROKERS: `127.0.0.1:${await closedPort()}` });
    const deadQuestDb = new QuestDbClient(questdbPgUrl(unreachable));
    const deadBus = busFor(unreachable);
    cleanup.push(() => deadQuestDb.close());
    const api = await buildApi({ ...apiDeps(db.pool, deadQuestDb, deadBus, log), probeTimeoutMs: 1500 });
    cleanup.push(() => api.close());
    const res = await api.inject({ url: '/readyz' });
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().status, 'not ready');
    assert.deepEqual(res.json().down, ['questdb', 'kafka']);
    assert.equal(res.json().checks.postgres, 'ok');
    assert.match(res.json().checks.questdb, /QUESTDB_UNREACHABLE|ECONNREFUSED/);
    assert.match(res.json().message, /^not ready: questdb \(.*\); kafka \(/);

    const t0 = Date.now();
    const live = await api.inject({ url: '/healthz' });
    assert.equal(live.statusCode, 200, 'the process is alive although two dependencies are not');
    assert.ok(Date.now() - t0 < 500, 'liveness waits on no dependency');
    const key = (await createApiKey(db.pool, 'ops-viewer', 'viewer')).token;
    assert.equal((await api.inject({ url: '/v1/plans', headers: { authorization: `Bearer ${key}` } })).statusCode, 200);
  });

  it('answers 503 naming PostgreSQL when it is unreachable', async () => {
    const { createPgPool } = await import('../../core/index.ts');
    const deadPool = createPgPool(`postgres://postgres@127.0.0.1:${await closedPort()}/novacron`);
    cleanup.push(() => deadPool.end());
    const api = await buildApi(apiDeps(deadPool, questdb, bus, log));
    cleanup.push(() => api.close());
    const res = await api.inject({ url: '/readyz' });
    assert.equal(res.statusCode, 503, res.body);
    assert.deepEqual(res.json().down, ['postgres']);
    assert.deepEqual([res.json().checks.questdb, res.json().checks.kafka], ['ok', 'ok']);
  });

  it('/metrics reports request latency by route and status and the plan and action counts of PostgreSQL, refreshed in the background', async () => {
    const api = await buildApi({ ...apiDeps(db.pool, questdb, bus, log), stateRefreshMs: 200 });
    cleanup.push(() => api.close());
    const operator = (await createApiKey(db.pool, 'ops-operator', 'operator')).token;
    const auth = { authorization: `Bearer ${operator}` };
    const plan: ActionPlan = {
      createdAt: Date.now(), policy: { cpuTargetUtilization: 0.8, memTargetUtilization: 0.9 }, hostsBefore: 2, hostsAfter: 1, hostsSaved: 1, loadAfter: [], unplaced: [], waves: [[0, 1], [2]],
      actions: [
        { kind: 'migrate', vmId: 'vm-a', fromHost: 'h-1', toHost: 'h-2', cpuCores: 1, memBytes: 2 ** 30, reason: 'empties h-1', wave: 0 },
        { kind: 'migrate', vmId: 'vm-b', fromHost: 'h-1', toHost: 'h-2', cpuCores: 1, memBytes: 2 ** 30, reason: 'empties h-1', wave: 0 },
        { kind: 'power-off', hostId: 'h-1', reason: 'empty after the moves', savedWatts: 100 },
      ],
    };
    const id = await savePlan(db.pool, plan);
    await proposeExecution(db.pool, id, plan.actions, plan.actions.map(() => false), 'planner');
    const scrape = async () => (await api.inject({ url: '/metrics' })).body;
    let text = await eventually(scrape, (t) => sample(t, 'novacron_plans', { state: 'proposed' }) === 1, 10_000);
    assert.equal(sample(text, 'novacron_plan_actions', { state: 'proposed' }), 3, text.split('\n').filter((l) => l.startsWith('novacron_plan')).join('\n'));

    for (let i = 0; i < 3; i++) assert.equal((await api.inject({ url: `/v1/plans/${id}`, headers: auth })).statusCode, 200);
    const rejected = await api.inject({ method: 'POST', url: `/v1/plans/${id}/reject`, headers: auth, payload: { reason: 'metrics test' } });
    assert.equal(rejected.statusCode, 200, rejected.body);
    text = await eventually(scrape, (t) => sample(t, 'novacron_plans', { state: 'rejected' }) === 1, 10_000);
    assert.equal(sample(text, 'novacron_plans', { state: 'proposed' }), 0);
    assert.equal(sample(text, 'novacron_plan_actions', { state: 'skipped' }), 3);
    assert.equal(sample(text, 'novacron_api_request_duration_seconds_count', { method: 'GET', route: '/v1/plans/:id', status_code: '200' }), 3);
    assert.equal(sample(text, 'novacron_api_request_duration_seconds_count', { method: 'POST', route: '/v1/plans/:id/reject', status_code: '200' }), 1);
    assert.ok((sample(text, 'novacron_api_request_duration_seconds_sum', { route: '/v1/plans/:id', status_code: '200' }) ?? 0) > 0);
    assert.ok(sample(text, 'process_resident_memory_bytes')! > 0);
    assert.equal(sample(text, 'novacron_api_state_refresh_failures'), 0);
  });

  it('limits each key to the configured requests a minute (429, Retry-After) as serve wires it', async () => {
    const api = await buildApi(apiDeps(db.pool, questdb, bus, log, undefined, { rateLimitPerMinute: 3 }));
    cleanup.push(() => api.close());
    const key = (await createApiKey(db.pool, 'ops-limited', 'viewer')).token;
    const codes = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await api.inject({ url: '/v1/plans', headers: { authorization: `Bearer ${key}` } });
      codes.push(last.statusCode);
    }
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    assert.equal(last!.json().code, 'API_RATE_LIMITED');
    assert.ok(Number(last!.headers['retry-after']) > 0);
    assert.equal((await api.inject({ url: '/readyz' })).statusCode, 200, 'readiness is not limited');
  });
});
