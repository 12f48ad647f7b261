import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { ActionState, ExecutionRow, PlanState } from '../actuators/index.ts';
import type { StoredPlan } from '../scheduler/index.ts';
import { buildApi } from './server.ts';
import { memoryKeyStore, stubDeps } from './testing.ts';

const storedPlan = (id: number): StoredPlan => ({
  id, createdAt: 1_700_000_000_000, policy: { cpuTargetUtilization: 0.8, memTargetUtilization: 0.9 }, hostsBefore: 2, hostsAfter: 1, hostsSaved: 1,
  // Big enough (> 1 KiB) to be sent compressed.
  loadAfter: Array.from({ length: 40 }, (_, i) => ({ hostId: `host-${i}`, cpuCores: i, memBytes: i * 1e9, cpuCapacity: 64, memCapacity: 2.7e11, vmCount: 8 })),
  unplaced: [], actions: [{ kind: 'power-off', hostId: `h-${id}`, reason: 'empty' }],
});

const execution = (planId: number, state: PlanState, action: ActionState): ExecutionRow => ({
  planId, state, reason: state, createdAt: new Date(0), updatedAt: new Date(1),
  actions: [{
    planId, seq: 0, state: action, kind: 'power-off', vmId: null, fromHost: null, toHost: null, hostId: `h-${planId}`, wave: 0, idempotencyKey: `plan-${planId}-step-0`,
    attempts: 0, owner: null, startedAt: null, finishedAt: null, seconds: null, errorCode: null, error: null,
  }],
});

/** An API over one plan whose execution the test moves; counts the store reads GET /v1/plans/{id} makes. */
async function apiOverOnePlan(readCacheMs = 0) {
  const keys = memoryKeyStore();
  const reads = { load: 0, execution: 0, events: 0 };
  const state = { stored: true, exec: execution(7, 'proposed', 'proposed') as ExecutionRow | null };
  const api = await buildApi(stubDeps({
    keys: keys.store,
    readCacheMs,
    plans: {
      list: async () => [],
      load: async (id) => (reads.load++, id === 7 && state.stored ? storedPlan(7) : null),
      rightsizing: async () => null,
      loadAfter: async () => null,
      execution: async () => (reads.execution++, state.exec),
      events: async () => (reads.events++, [{ planId: 7, seq: null, fromState: null, toState: state.exec!.state, actor: 'test', reason: 'r', at: new Date(2) }]),
      transition: async () => 'proposed',
    },
  }));
  const viewer = (await keys.store.create('v', 'viewer')).token;
  const get = async (id = 7, encoding?: string) => api.inject({ url: `/v1/plans/${id}`, headers: { authorization: `Bearer ${viewer}`, ...(encoding ? { 'accept-encoding': encoding } : {}) } });
  return { api, reads, state, get };
}

test('GET /v1/plans/{id} reads a stored plan once and its execution per answer until the execution is settled, then nothing', async () => {
  const { api, reads, state, get } = await apiOverOnePlan();
  try {
    const first = (await get()).json();
    assert.equal(first.execution.state, 'proposed');
    await get();
    assert.deepEqual(reads, { load: 1, execution: 2, events: 2 }, 'the plan once; its live execution per answer');

    state.exec = execution(7, 'failed', 'failed');
    assert.equal((await get()).json().execution.state, 'failed');
    await get();
    assert.deepEqual(reads, { load: 1, execution: 4, events: 4 }, 'a failed plan may still be rolled back: still read per answer');

    state.exec = execution(7, 'rolled_back', 'rolled_back');
    const settled = await get();
    assert.equal(settled.json().execution.state, 'rolled_back');
    assert.deepEqual(settled.json().execution.events.map((e: { to: string }) => e.to), ['rolled_back']);
    state.exec = execution(7, 'proposed', 'proposed'); // what a store would never do: proves nothing more is read
    const again = await get();
    assert.equal(again.body, settled.body, 'a settled execution is answered from memory');
    assert.deepEqual(reads, { load: 1, execution: 5, events: 5 });
  } finally {
    await api.close();
  }
});

test('an unknown plan is not remembered: once stored, it is served', async () => {
  const { api, reads, state, get } = await apiOverOnePlan();
  try {
    state.stored = false;
    assert.equal((await get()).statusCode, 404);
    state.stored = true;
    const found = await get();
    assert.equal(found.statusCode, 200);
    assert.equal(found.json().id, 7);
    assert.equal((await get(8)).statusCode, 404);
    assert.equal(reads.load, 3);
  } finally {
    await api.close();
  }
});

for (const readCacheMs of [0, 60_000]) {
  test(`a settled plan goes gzip-compressed, compressed once, to callers that accept it (read cache ${readCacheMs} ms)`, async () => {
    const { api, reads, state, get } = await apiOverOnePlan(readCacheMs);
    try {
      state.exec = execution(7, 'superseded', 'skipped');
      const plain = await get();
      assert.equal(plain.headers['content-encoding'], undefined);
      const zipped = await get(7, 'gzip, br');
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.equal(zipped.headers.vary, 'accept-encoding');
      assert.equal(gunzipSync(zipped.rawPayload).toString(), plain.body);
      assert.deepEqual((await get(7, 'gzip')).rawPayload, zipped.rawPayload);
      assert.equal((await get(7, 'identity')).body, plain.body);
      assert.equal(reads.execution, 1, 'settled at the first answer; nothing read after');
    } finally {
      await api.close();
    }
  });
}
