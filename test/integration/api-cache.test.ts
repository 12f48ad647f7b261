import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { proposeExecution, transitionPlan } from '../../actuators/index.ts';
import { buildApi, createApiKey } from '../../api/index.ts';
import { apiDeps } from '../../cli/api-deps.ts';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { migrate, questdbTable } from '../../core/index.ts';
import { saveInventory, savePlan, type ActionPlan } from '../../scheduler/index.ts';
import { dropSampleTables, ensureSampleTables, SAMPLE_TABLES } from '../../streams/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { busFor, isolatedConfig, questdbFor, testLogger } from './harness.ts';

const TTL_MS = 1_500;

// The read cache (api/read-cache.ts, NOVACRON_API_CACHE_MS) over the real stores, wired as `serve` wires it.
describe('API read cache: writes through the API show at once, writes elsewhere within the TTL (real PostgreSQL and QuestDB)', () => {
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  let db: TempDatabase;
  let api: Awaited<ReturnType<typeof buildApi>>;
  let viewer: string;
  let operator: string;
  const get = (url: string) => api.inject({ url, headers: { authorization: `Bearer ${viewer}` } });
  const plan = (hosts: number): ActionPlan => ({
    createdAt: Date.now(), policy: { cpuTargetUtilization: 0.8, memTargetUtilization: 0.9 }, hostsBefore: hosts, hostsAfter: hosts - 1, hostsSaved: 1, loadAfter: [], unplaced: [], waves: [[0]],
    actions: [{ kind: 'power-off', hostId: `h-${hosts}`, reason: 'empty', savedWatts: 100 }],
  });
  const snapshot = (vmCount: number) => ({ takenAt: Date.now(), stepSeconds: 300, hosts: [{ hostId: 'h-a', cpuCores: 32, memBytes: 2 ** 37 }], vms: Array.from({ length: vmCount }, (_, i) => ({ vmId: `vm-${i}`, hostId: 'h-a', cpuCores: 1, memBytes: 2 ** 30 })) });

  before(async () => {
    db = await createTempDatabase();
    await migrate(db.pool, ALL_MIGRATIONS);
    await ensureSampleTables(config, questdb);
    const id = await savePlan(db.pool, plan(3));
    await proposeExecution(db.pool, id, plan(3).actions, [false], 'planner');
    await saveInventory(db.pool, snapshot(2));
    api = await buildApi(apiDeps(db.pool, questdb, busFor(config), testLogger(), undefined, { tablePrefix: config.questdb.tablePrefix, readCacheMs: TTL_MS }));
    viewer = (await createApiKey(db.pool, 'cache-viewer', 'viewer')).token;
    operator = (await createApiKey(db.pool, 'cache-operator', 'operator')).token;
  });

  after(async () => {
    for (const step of [() => api?.close(), () => dropSampleTables(config, questdb), () => questdb.close(), () => db?.drop()]) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('a plan approved through the API is visible at once in /v1/plans and /v1/plans/:id', async () => {
    const id = (await get('/v1/recommendations')).json().id as number;
    assert.equal((await get('/v1/plans')).json().plans[0].state, 'proposed');
    assert.equal((await get(`/v1/plans/${id}`)).json().execution.state, 'proposed');
    const res = await api.inject({ method: 'POST', url: `/v1/plans/${id}/approve`, headers: { authorization: `Bearer ${operator}` }, payload: { reason: 'cache test' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await get('/v1/plans')).json().plans[0].state, 'approved');
    assert.equal((await get(`/v1/plans/${id}`)).json().execution.state, 'approved');
  });

  it('a change made elsewhere shows within the TTL, not later', async () => {
    const before = (await get('/v1/recommendations')).json();
    const beforePlans = (await get('/v1/plans')).json();
    assert.equal((await get('/v1/hosts')).json().hosts[0].vmCount, 2);
    // Elsewhere: the planner stores a newer plan, the executor rejects the older one, the inventory changes.
    const t0 = Date.now();
    const newer = await savePlan(db.pool, plan(5));
    await transitionPlan(db.pool, before.id, 'rejected', 'key:elsewhere', 'cache test', ['approved']);
    await saveInventory(db.pool, snapshot(7));
    // Still within the TTL of what was read a moment ago: the old answers may be served.
    if (Date.now() - t0 < TTL_MS / 2) {
      assert.equal((await get('/v1/recommendations')).json().id, before.id, 'served from memory within the TTL');
      assert.deepEqual((await get('/v1/plans')).json(), beforePlans);
    }
    await sleep(TTL_MS + 100);
    // Past the TTL every answer has caught up (a refresh may still be running for the first read: allow one round).
    const settled = async (url: string) => { await get(url); return (await get(url)).json(); };
    assert.equal((await settled('/v1/recommendations')).id, newer);
    assert.equal((await settled('/v1/plans')).plans.find((p: { id: number }) => p.id === before.id).state, 'rejected');
    assert.equal((await settled('/v1/hosts')).hosts[0].vmCount, 7);
  });

  it('/v1/vms pages come from one cached read of the fleet and agree with the uncached answer', async () => {
    const vm = questdbTable(config, SAMPLE_TABLES.vm);
    const now = Date.now();
    const values = Array.from({ length: 25 }, (_, i) => `(cast(${(now - 60_000) * 1000} as timestamp), 'h-a', 'vm-${String(i).padStart(2, '0')}', 0.5, 2, 100, 4096)`);
    await questdb.query(`insert into ${vm} (ts, host_id, vm_id, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes) values ${values.join(', ')}`);
    await questdb.waitForWalApplied(vm, 60_000);
    const uncached = await buildApi(apiDeps(db.pool, questdb, busFor(config), testLogger(), undefined, { tablePrefix: config.questdb.tablePrefix }));
    try {
      for (const q of ['limit=10', 'limit=10&offset=10', 'limit=10&offset=20', 'limit=5&offset=24', 'hostId=h-a&limit=3&offset=2']) {
        const a = (await get(`/v1/vms?${q}`)).json();
        const b = (await uncached.inject({ url: `/v1/vms?${q}`, headers: { authorization: `Bearer ${viewer}` } })).json();
        assert.deepEqual(a, b, q);
      }
      assert.equal((await get('/v1/vms?limit=10&offset=20')).json().nextOffset, null);
    } finally {
      await uncached.close();
    }
  });
});
