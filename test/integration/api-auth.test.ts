import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { proposeExecution } from '../../actuators/index.ts';
import { buildApi, createApiKey, revokeApiKey, type ApiRole } from '../../api/index.ts';
import { apiDeps } from '../../cli/api-deps.ts';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { migrate, type MessageBus, type QuestDbClient } from '../../core/index.ts';
import { savePlan, type ActionPlan, type PlannedAction } from '../../scheduler/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';

// The API's keys, roles, refusal audit and plan routes against real PostgreSQL (a fresh database).
describe('API keys, roles and plan routes (real PostgreSQL)', () => {
  let db: TempDatabase;
  let api: Awaited<ReturnType<typeof buildApi>>;
  /** A second API on the same database that trusts no cached key (what a revocation looks like after the cache time). */
  let uncached: Awaited<ReturnType<typeof buildApi>>;
  const logLines: string[] = [];
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const stubQuestDb = { query: async () => [] } as unknown as QuestDbClient;
  const stubBus = { ensureTopics: async () => undefined } as unknown as MessageBus;

  type Method = 'GET' | 'POST' | 'HEAD';
  const call = (method: Method, url: string, key?: string, payload?: object | string, headers: Record<string, string> = {}) =>
    api.inject({ method, url, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}), ...headers }, ...(payload !== undefined ? { payload } : {}) });
  const refusals = async () => (await db.pool.query<{ method: string; route: string; status: number; reason: string; key_id: string | null; remote_addr: string | null }>('select * from api_auth_refusals order by id')).rows;

  function plan(vms: string[]): ActionPlan {
    const actions: PlannedAction[] = [
      ...vms.map((vmId, i) => ({ kind: 'migrate' as const, vmId, fromHost: 'h-src', toHost: 'h-dst', cpuCores: 1, memBytes: 2 ** 30, reason: `${vmId} leaves h-src so it can power off`, wave: i % 2 })),
      { kind: 'power-off' as const, hostId: 'h-src', reason: 'empty after the moves', savedWatts: 120 },
    ];
    return { createdAt: Date.now(), policy: { cpuTargetUtilization: 0.8, memTargetUtilization: 0.9 }, actions, hostsBefore: 2, hostsAfter: 1, hostsSaved: 1, loadAfter: [], unplaced: [], waves: [[0], [1]] };
  }
  /** Stores a plan and proposes it for execution (a newer proposal supersedes older open ones, as the planner's). */
  async function proposed(vms: string[]): Promise<number> {
    const p = plan(vms);
    const id = await savePlan(db.pool, p);
    await proposeExecution(db.pool, id, p.actions, p.actions.map(() => false), 'planner');
    return id;
  }

  before(async () => {
    db = await createTempDatabase();
    await migrate(db.pool, ALL_MIGRATIONS);
    const logger = pino({ level: 'trace' }, { write: (s: string) => void logLines.push(s) });
    api = await buildApi(apiDeps(db.pool, stubQuestDb, stubBus, logger));
    uncached = await buildApi(apiDeps(db.pool, stubQuestDb, stubBus, logger, undefined, { keyCacheMs: 0 }));
  });

  after(async () => {
    await api?.close().catch(() => undefined);
    await uncached?.close().catch(() => undefined);
    await db?.drop();
  });

  it('with no key created, every /v1 route answers 401 saying how to create one, and each refusal is audited', async () => {
    for (const [method, url] of [['GET', '/v1/plans'], ['GET', '/v1/hosts'], ['GET', '/v1/recommendations'], ['POST', '/v1/plans/1/approve'], ['GET', '/v1/keys'], ['GET', '/v1/no-such-route']] as const) {
      const res = await call(method, url);
      assert.equal(res.statusCode, 401, `${method} ${url}`);
      assert.equal(res.json().code, 'API_UNAUTHENTICATED');
      assert.equal(res.json().retriable, false);
      assert.match(res.json().message, /\.\/novacron keys create --name NAME --role/);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="novacron"');
    }
    const rows = await refusals();
    assert.equal(rows.length, 6);
    assert.deepEqual(rows[0], { ...rows[0], method: 'GET', route: '/v1/plans', status: 401, reason: 'no key presented', key_id: null, remote_addr: '127.0.0.1' });
    assert.equal(rows[3]!.route, '/v1/plans/:id/approve', 'the route pattern is recorded');
    assert.equal(rows[5]!.route, '/v1/no-such-route', 'unknown /v1 paths need a key too (no route discovery without one)');
  });

  it('keeps /healthz, /readyz, /metrics, /openapi.json and /docs public, and declares the security of every /v1 route', async () => {
    assert.equal((await call('GET', '/healthz')).statusCode, 200);
    assert.equal((await call('GET', '/readyz')).statusCode, 200);
    assert.equal((await call('GET', '/metrics')).statusCode, 200);
    assert.equal((await call('GET', '/docs')).statusCode, 200);
    const spec = (await call('GET', '/openapi.json')).json();
    assert.deepEqual(Object.keys(spec.components.securitySchemes).sort(), ['apiKey', 'bearer']);
    assert.deepEqual(spec.paths['/healthz'].get.security, []);
    const roles: Record<string, ApiRole> = {};
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, { security?: unknown; 'x-required-role'?: ApiRole }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!path.startsWith('/v1')) continue;
        assert.deepEqual(op.security, [{ bearer: [] }, { apiKey: [] }], `${method} ${path}`);
        roles[`${method.toUpperCase()} ${path}`] = op['x-required-role']!;
      }
    }
    assert.deepEqual(roles, {
      'GET /v1/hosts': 'viewer', 'GET /v1/recommendations': 'viewer', 'POST /v1/placements': 'operator',
      'GET /v1/plans': 'viewer', 'GET /v1/plans/{id}': 'viewer', 'GET /v1/plans/{id}/rightsizing': 'viewer', 'GET /v1/plans/{id}/load-after': 'viewer',
      'POST /v1/plans/{id}/approve': 'operator', 'POST /v1/plans/{id}/reject': 'operator', 'POST /v1/plans/{id}/execute': 'operator',
      'GET /v1/keys': 'admin', 'POST /v1/keys': 'admin', 'POST /v1/keys/{id}/revoke': 'admin', 'GET /v1/auth/refusals': 'admin',
      'GET /v1/vms': 'viewer', 'GET /v1/vms/{vmId}/forecast': 'viewer', 'GET /v1/anomalies': 'viewer', 'GET /v1/savings': 'viewer',
      'GET /v1/whoami': 'viewer',
    });
    const reject = spec.paths['/v1/plans/{id}/reject'].post;
    assert.deepEqual(reject.requestBody.content['application/json'].schema.required, ['reason']);
    assert.equal(reject.requestBody.content['application/json'].schema.properties.reason.maxLength, 500);
    assert.ok(['200', '400', '401', '403', '404', '409', '413'].every((s) => reject.responses[s]), Object.keys(reject.responses).join());
  });

  it('stores keys hashed: no secret appears anywhere in the database', async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const made = await createApiKey(db.pool, `it-${role}`, role);
      tokens[role] = made.token;
      ids[role] = made.key.id;
    }
    const dump = [];
    const tables = await db.pool.query<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public'");
    for (const { tablename } of tables.rows) dump.push(...(await db.pool.query<{ t: string }>(`select t::text as t from "${tablename}" t`)).rows.map((r) => r.t));
    const text = dump.join('\n');
    for (const token of Object.values(tokens)) {
      const secret = token.split('_').slice(2).join('_');
      assert.ok(!text.includes(secret), 'secret (base64url) not stored');
      assert.ok(!text.includes(Buffer.from(secret, 'base64url').toString('hex')), 'secret (bytes) not stored');
    }
    assert.ok(text.includes(ids.viewer!), 'the key ids are stored');
    const row = (await db.pool.query('select length(hash) h, length(salt) s from api_keys where id = $1', [ids.viewer])).rows[0];
    assert.deepEqual(row, { h: 32, s: 16 });
  });

  it('refuses malformed and wrong keys (401, audited with the key id when the key names one) and accepts X-Api-Key', async () => {
    const before = (await refusals()).length;
    const wrong = `nck_${ids.operator}_${'A'.repeat(43)}`;
    for (const headers of <Record<string, string>[]>[{ authorization: 'Bearer not-a-key' }, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, { authorization: `Bearer ${wrong}` }, { 'x-api-key': wrong }]) {
      const res = await call('GET', '/v1/plans', undefined, undefined, headers);
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(res.json().code, 'API_UNAUTHENTICATED');
    }
    const rows = (await refusals()).slice(before);
    assert.deepEqual(rows.map((r) => [r.reason, r.key_id]), [
      ['not shaped like a key (nck_<id>_<secret>)', null],
      ['Authorization header is not "Bearer <key>"', null],
      ['secret does not match', ids.operator],
      ['secret does not match', ids.operator],
    ]);
    const viaHeader = await call('GET', '/v1/plans', undefined, undefined, { 'x-api-key': tokens.viewer! });
    assert.equal(viaHeader.statusCode, 200);
    // The use is recorded without holding the request up: poll for it.
    let lastUsed: Date | null = null;
    for (let i = 0; i < 40 && !lastUsed; i++) {
      lastUsed = (await db.pool.query<{ last_used_at: Date | null }>('select last_used_at from api_keys where id = $1', [ids.viewer])).rows[0]!.last_used_at;
      if (!lastUsed) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(lastUsed, 'last_used_at is recorded');
  });

  it('a viewer reads plans but is refused (403, audited) on approve, reject, execute and placements', async () => {
    const id = await proposed(['vm-a', 'vm-b']);
    const list = await call('GET', '/v1/plans', tokens.viewer);
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json().plans.map((p: { id: number; state: string }) => [p.id, p.state]), [[id, 'proposed']]);
    assert.deepEqual(list.json().plans[0].actions, { proposed: 3, approved: 0, running: 0, succeeded: 0, failed: 0, rolled_back: 0, skipped: 0 });
    const one = await call('GET', `/v1/plans/${id}`, tokens.viewer);
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().actions[0].reason, 'vm-a leaves h-src so it can power off');
    assert.equal(one.json().execution.state, 'proposed');

    const before = (await refusals()).length;
    for (const [method, url, body] of [['POST', `/v1/plans/${id}/approve`, {}], ['POST', `/v1/plans/${id}/reject`, { reason: 'no' }], ['POST', `/v1/plans/${id}/execute`, {}], ['POST', '/v1/placements', { vmId: 'x', vcpus: 1, memBytes: 1 }], ['GET', '/v1/keys', undefined]] as const) {
      const res = await call(method, url, tokens.viewer, body);
      assert.equal(res.statusCode, 403, `${method} ${url}`);
      assert.equal(res.json().code, 'API_FORBIDDEN');
      assert.match(res.json().message, /key "it-viewer" has role viewer/);
    }
    const rows = (await refusals()).slice(before);
    assert.equal(rows.length, 5);
    assert.deepEqual(rows[0], { ...rows[0], method: 'POST', route: '/v1/plans/:id/approve', status: 403, reason: 'role viewer below operator', key_id: ids.viewer });
    assert.equal((await call('GET', `/v1/plans/${id}`, tokens.viewer)).json().execution.state, 'proposed', 'nothing changed');
  });

  it('an operator approves, rejects and executes with the right transitions, recorded as key:<name>', async () => {
    // Proposals supersede older open plans (a newer plan saw a newer fleet), so each step proposes its own.
    const a = await proposed(['vm-1', 'vm-2']);
    const approved = await call('POST', `/v1/plans/${a}/approve`, tokens.operator, { reason: 'reviewed the waves' });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.deepEqual(approved.json(), { ...approved.json(), id: a, from: 'proposed', state: 'approved', actor: 'key:it-operator', reason: 'reviewed the waves' });
    const shown = (await call('GET', `/v1/plans/${a}`, tokens.operator)).json();
    assert.equal(shown.execution.state, 'approved');
    assert.deepEqual(shown.execution.actions.map((x: { state: string; attempts: number }) => [x.state, x.attempts]), [['approved', 0], ['approved', 0], ['approved', 0]]);
    const planEvents = shown.execution.events.filter((e: { seq: number | null }) => e.seq === null);
    assert.deepEqual(planEvents.map((e: { from: string | null; to: string; actor: string; reason: string }) => [e.from, e.to, e.actor, e.reason]), [[null, 'proposed', 'planner', 'plan stored'], ['proposed', 'approved', 'key:it-operator', 'reviewed the waves']]);
    assert.ok(shown.execution.events.filter((e: { seq: number | null; actor: string }) => e.seq !== null).every((e: { actor: string }) => e.actor === 'key:it-operator'));

    const again = await call('POST', `/v1/plans/${a}/approve`, tokens.operator);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'EXECUTION_TRANSITION_INVALID');
    const stillExecutable = await call('POST', `/v1/plans/${a}/execute`, tokens.operator);
    assert.equal(stillExecutable.statusCode, 202);
    assert.equal(stillExecutable.json().state, 'approved');
    assert.match(stillExecutable.json().message, /already approved.*\.\/novacron execute/);

    // An approved plan that has not started may still be rejected.
    const rejected = await call('POST', `/v1/plans/${a}/reject`, tokens.operator, { reason: 'maintenance freeze' });
    assert.equal(rejected.statusCode, 200, rejected.body);
    assert.deepEqual([rejected.json().from, rejected.json().state], ['approved', 'rejected']);
    const afterReject = (await call('GET', `/v1/plans/${a}`, tokens.operator)).json();
    assert.deepEqual(afterReject.execution.actions.map((x: { state: string }) => x.state), ['skipped', 'skipped', 'skipped']);
    assert.deepEqual(afterReject.execution.events.at(-4), { ...afterReject.execution.events.at(-4), from: 'approved', to: 'rejected', actor: 'key:it-operator', reason: 'maintenance freeze' });
    const executeRejected = await call('POST', `/v1/plans/${a}/execute`, tokens.operator);
    assert.equal(executeRejected.statusCode, 409);
    assert.equal(executeRejected.json().code, 'EXECUTION_TRANSITION_INVALID');
    assert.match(executeRejected.json().message, new RegExp(`plan ${a} is rejected`));

    // Execute approves a proposed plan and answers 202: the executor service carries it out.
    const b = await proposed(['vm-3']);
    const executed = await call('POST', `/v1/plans/${b}/execute`, tokens.operator, { reason: 'go' });
    assert.equal(executed.statusCode, 202, executed.body);
    assert.deepEqual(executed.json(), { ...executed.json(), id: b, from: 'proposed', state: 'approved', actor: 'key:it-operator', reason: 'go' });
    assert.match(executed.json().message, /\.\/novacron execute/);

    // A newer proposal supersedes b (approved, not started): executing b is then refused.
    const c = await proposed(['vm-4']);
    const superseded = await call('POST', `/v1/plans/${b}/execute`, tokens.operator);
    assert.equal(superseded.statusCode, 409);
    assert.match(superseded.json().message, /superseded/);
    const rejectC = await call('POST', `/v1/plans/${c}/reject`, tokens.operator, { reason: 'not now' });
    assert.deepEqual([rejectC.statusCode, rejectC.json().state], [200, 'rejected']);

    // Listing: newest first, filter by state, pages of `limit` with nextBefore.
    const all = (await call('GET', '/v1/plans?limit=200', tokens.viewer)).json();
    const listed = all.plans.map((p: { id: number }) => p.id);
    assert.deepEqual(listed.slice(0, 3), [c, b, a]);
    assert.equal(all.nextBefore, null);
    const page1 = (await call('GET', '/v1/plans?limit=2', tokens.viewer)).json();
    assert.deepEqual(page1.plans.map((p: { id: number }) => p.id), [c, b]);
    assert.equal(page1.nextBefore, b);
    const page2 = (await call('GET', `/v1/plans?limit=2&before=${page1.nextBefore}`, tokens.viewer)).json();
    assert.equal(page2.plans[0].id, a);
    const onlyRejected = (await call('GET', '/v1/plans?state=rejected', tokens.viewer)).json();
    assert.deepEqual(onlyRejected.plans.map((p: { id: number }) => p.id), [c, a]);
    assert.deepEqual(onlyRejected.plans[1].actions, { proposed: 0, approved: 0, running: 0, succeeded: 0, failed: 0, rolled_back: 0, skipped: 3 });
  });

  it('answers 404 naming the plan when it is unknown or was never proposed for execution', async () => {
    const unknown = await call('POST', '/v1/plans/987654321/approve', tokens.operator, {});
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'PLAN_NOT_FOUND');
    assert.match(unknown.json().message, /plan 987654321/);
    assert.equal((await call('GET', '/v1/plans/987654321', tokens.viewer)).statusCode, 404);
    const storedOnly = await savePlan(db.pool, plan(['vm-9']));
    for (const verb of ['approve', 'execute']) {
      const res = await call('POST', `/v1/plans/${storedOnly}/${verb}`, tokens.operator, {});
      assert.equal(res.statusCode, 404, verb);
      assert.equal(res.json().code, 'EXECUTION_PLAN_NOT_FOUND');
      assert.match(res.json().message, new RegExp(`plan ${storedOnly} was stored but never proposed`));
    }
    const shown = (await call('GET', `/v1/plans/${storedOnly}`, tokens.viewer)).json();
    assert.equal(shown.execution, null);
  });

  it('answers 400 naming the field for bad ids, queries and bodies', async () => {
    const cases: [Method, string, object | undefined, string][] = [
      ['GET', '/v1/plans/abc', undefined, 'id'],
      ['GET', '/v1/plans/0', undefined, 'id'],
      ['GET', '/v1/plans/-3', undefined, 'id'],
      ['GET', '/v1/plans/1.5', undefined, 'id'],
      ['GET', '/v1/plans/99999999999999999999', undefined, 'id'],
      ['POST', '/v1/plans/x/approve', {}, 'id'],
      ['GET', '/v1/plans?limit=201', undefined, 'limit'],
      ['GET', '/v1/plans?limit=0', undefined, 'limit'],
      ['GET', '/v1/plans?state=bogus', undefined, 'state'],
      ['GET', '/v1/plans?before=abc', undefined, 'before'],
      ['GET', '/v1/plans?color=red', undefined, 'color'],
      ['POST', '/v1/plans/1/reject', {}, 'reason'],
      ['POST', '/v1/plans/1/reject', { reason: '' }, 'reason'],
      ['POST', '/v1/plans/1/reject', { reason: '   ' }, 'reason'],
      ['POST', '/v1/plans/1/reject', { reason: 'x'.repeat(501) }, 'reason'],
      ['POST', '/v1/plans/1/approve', { reason: 'x'.repeat(501) }, 'reason'],
      ['POST', '/v1/plans/1/approve', { reason: 'ok', force: true }, 'force'],
    ];
    for (const [method, url, body, field] of cases) {
      const res = await call(method, url, tokens.operator, body);
      assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(body)?.slice(0, 40)}: ${res.body}`);
      assert.equal(res.json().code, 'API_BAD_REQUEST');
      assert.equal(res.json().field, field, `${method} ${url}`);
    }
  });

  it('refuses an oversized body (413) — and, without a key, before reading it (401)', async () => {
    const big = JSON.stringify({ reason: 'x'.repeat(64 * 1024) });
    const res = await call('POST', '/v1/plans/1/approve', tokens.operator, big);
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'API_BODY_TOO_LARGE');
    const anonymous = await call('POST', '/v1/plans/1/approve', undefined, big);
    assert.equal(anonymous.statusCode, 401);
    // Over the default 1 MiB limit (NOVACRON_API_BODY_LIMIT): refused before it is parsed.
    const huge = JSON.stringify({ vmId: 'x', vcpus: 1, memBytes: 1, allowedHosts: Array.from({ length: 9_000 }, (_, i) => `host-${i}-${'y'.repeat(120)}`) });
    assert.ok(huge.length > 1024 * 1024);
    const tooBig = await call('POST', '/v1/placements', tokens.operator, huge);
    assert.equal(tooBig.statusCode, 413, 'the global limit bounds every route');
    assert.match(tooBig.json().message, /1048576 bytes/);
  });

  it('lets an admin list (without secrets), create and revoke keys; a revoked key gets 401 at once here and after the cache time elsewhere', async () => {
    const listed = await call('GET', '/v1/keys', tokens.admin);
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(listed.json().keys.map((k: { name: string }) => k.name).sort(), ['it-admin', 'it-operator', 'it-viewer']);
    assert.ok(!Object.values(tokens).some((t) => listed.body.includes(t.split('_').slice(2).join('_'))));
    assert.deepEqual(Object.keys(listed.json().keys[0]).sort(), ['createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role']);

    const created = await call('POST', '/v1/keys', tokens.admin, { name: 'it-made-by-api', role: 'viewer' });
    assert.equal(created.statusCode, 201, created.body);
    const madeToken = created.json().token as string;
    tokens.made = madeToken;
    assert.equal((await call('GET', '/v1/plans', madeToken)).statusCode, 200);
    assert.equal((await call('POST', '/v1/keys', tokens.admin, { name: 'it-made-by-api', role: 'viewer' })).statusCode, 409, 'names are unique among live keys');
    assert.equal((await call('POST', '/v1/keys', tokens.admin, { name: 'bad name', role: 'viewer' })).json().field, 'name');
    assert.equal((await call('POST', '/v1/keys', tokens.admin, { name: 'ok', role: 'root' })).json().field, 'role');

    const revoked = await call('POST', `/v1/keys/${created.json().key.id}/revoke`, tokens.admin);
    assert.equal(revoked.statusCode, 200);
    assert.ok(revoked.json().key.revokedAt);
    const refused = await call('GET', '/v1/plans', madeToken);
    assert.equal(refused.statusCode, 401, 'revoked through this process: refused at once although it was cached');
    assert.match(refused.json().message, /revoked/);
    assert.equal((await call('POST', '/v1/keys/not-an-id/revoke', tokens.admin)).json().field, 'id');

    // Revoked from the command line (another process): an API with no key cache refuses it at once.
    const cli = await createApiKey(db.pool, 'it-revoked-by-cli', 'operator');
    tokens.cli = cli.token;
    assert.equal((await uncached.inject({ url: '/v1/plans', headers: { authorization: `Bearer ${cli.token}` } })).statusCode, 200);
    await revokeApiKey(db.pool, cli.key.id);
    const after = await uncached.inject({ url: '/v1/plans', headers: { authorization: `Bearer ${cli.token}` } });
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().code, 'API_UNAUTHENTICATED');
    const last = (await refusals()).at(-1)!;
    assert.deepEqual([last.status, last.key_id, last.reason.startsWith('key revoked at')], [401, cli.key.id, true]);

    const audit = await call('GET', '/v1/auth/refusals?limit=5', tokens.admin);
    assert.equal(audit.statusCode, 200);
    assert.equal(audit.json().refusals.length, 5);
    assert.equal(audit.json().refusals[0].keyId, cli.key.id);
  });

  it('never writes a presented secret to the log, even one pasted into a URL', async () => {
    const res = await call('GET', `/v1/plans?api_key=${tokens.viewer}`, tokens.viewer);
    assert.equal(res.statusCode, 400, 'unknown query parameters are refused');
    await call('GET', `/v1/plans/${tokens.operator}`, tokens.operator, undefined, { 'x-api-key': tokens.admin! });
    const log = logLines.join('');
    assert.ok(logLines.length > 50, `requests are logged (${logLines.length} lines)`);
    assert.match(log, /incoming request/);
    for (const [who, token] of Object.entries(tokens)) {
      assert.ok(!log.includes(token.split('_').slice(2).join('_')), `the ${who} key's secret is not in the log`);
    }
    assert.match(log, /api_key=\[redacted\]/);
  });
});
