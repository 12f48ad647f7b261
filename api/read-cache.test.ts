import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { pagedListTtlMs, ReadCache, registerReadCache, STORED_ANSWER_TTL_MS } from './read-cache.ts';
import { buildApi } from './server.ts';
import { memoryKeyStore, stubDeps } from './testing.ts';
import type { ActionPlan } from '../scheduler/index.ts';

/** A load whose calls are counted and whose answers the test releases by hand. */
function gate<T>() {
  const calls: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  const load = () => new Promise<T>((resolve, reject) => { calls.push({ resolve, reject }); });
  return { calls, load };
}
const tick = () => new Promise((r) => setImmediate(r));

test('a cached value is served until the TTL, measured from when its load started; concurrent misses share one load', async () => {
  let now = 1_000;
  const cache = new ReadCache<string>(1_000, () => now);
  const g = gate<string>();
  const a = cache.get('k', g.load);
  const b = cache.get('k', g.load);
  assert.equal(g.calls.length, 1, 'one load for two concurrent misses');
  now = 1_200; // the load took 200 ms: the value is 200 ms old when it lands
  g.calls[0]!.resolve('v1');
  assert.deepEqual([await a, await b], ['v1', 'v1']);
  assert.equal(cache.age('k'), 200);
  now = 1_400;
  assert.equal(await cache.get('k', g.load), 'v1');
  assert.equal(g.calls.length, 1, 'fresh: no load');
  now = 2_000; // exactly the TTL after the load started: too old to serve
  const c = cache.get('k', g.load);
  assert.equal(g.calls.length, 2, 'expired: loads again, and the caller waits for it');
  g.calls[1]!.resolve('v2');
  assert.equal(await c, 'v2');
});

test('past half the TTL a read is answered from memory and starts one refresh in the background', async () => {
  let now = 0;
  const cache = new ReadCache<string>(1_000, () => now);
  const g = gate<string>();
  const first = cache.get('k', g.load);
  g.calls[0]!.resolve('old');
  await first;
  now = 600;
  assert.equal(await cache.get('k', g.load), 'old', 'answered at once');
  assert.equal(await cache.get('k', g.load), 'old');
  assert.equal(g.calls.length, 2, 'one refresh however many reads');
  now = 700;
  g.calls[1]!.resolve('new');
  await tick();
  assert.equal(await cache.get('k', g.load), 'new');
  assert.equal(cache.age('k'), 100, 'the refreshed value is as old as its load (started at 600)');
});

test('invalidate() forgets values, and a load that started before it is not kept', async () => {
  const cache = new ReadCache<string>(60_000);
  const g = gate<string>();
  const before = cache.get('k', g.load);
  cache.invalidate();
  g.calls[0]!.resolve('from before');
  assert.equal(await before, 'from before', 'its caller still gets an answer');
  const after = cache.get('k', g.load);
  assert.equal(g.calls.length, 2, 'but it was not cached');
  g.calls[1]!.resolve('fresh');
  assert.equal(await after, 'fresh');
  cache.invalidate();
  assert.equal(cache.age('k'), undefined);
});

test('a failed load is not cached, and reaches every caller waiting on it', async () => {
  const cache = new ReadCache<string>(60_000);
  const g = gate<string>();
  const a = cache.get('k', g.load);
  const b = cache.get('k', g.load);
  g.calls[0]!.reject(new Error('store down'));
  await assert.rejects(a, /store down/);
  await assert.rejects(b, /store down/);
  const c = cache.get('k', g.load);
  assert.equal(g.calls.length, 2);
  g.calls[1]!.resolve('ok');
  assert.equal(await c, 'ok');
});

test('ttl 0 caches nothing; the number of keys is bounded', async () => {
  let loads = 0;
  const off = new ReadCache<number>(0);
  await off.get('k', async () => ++loads);
  await off.get('k', async () => ++loads);
  assert.equal(loads, 2);
  const small = new ReadCache<number>(60_000, Date.now, { maxEntries: 3 });
  for (const k of ['a', 'b', 'c', 'd']) await small.get(k, async () => 1);
  assert.equal(small.size, 3);
  assert.equal(small.age('a'), undefined, 'the oldest key went first');
});

test('the bytes a cache holds are bounded: the oldest values go first, and a value over the whole budget is answered but not kept', async () => {
  const cache = new ReadCache<string>(60_000, Date.now, { maxBytes: 10, sizeOf: (v) => v.length });
  for (const [k, v] of [['a', 'aaaa'], ['b', 'bbbb'], ['c', 'cccc']] as const) assert.equal(await cache.get(k, async () => v), v);
  assert.deepEqual({ size: cache.size, bytes: cache.heldBytes, a: cache.age('a'), c: cache.age('c') !== undefined }, { size: 2, bytes: 8, a: undefined, c: true });
  assert.equal(await cache.get('huge', async () => 'x'.repeat(11)), 'x'.repeat(11));
  assert.equal(cache.age('huge'), undefined, 'not kept');
  assert.equal(cache.heldBytes, 8, 'and it pushed nothing else out');
  let loads = 0;
  await cache.get('b', async () => (loads++, 'B'));
  assert.equal(loads, 0, 'b is still held');
  cache.invalidate();
  assert.equal(cache.heldBytes, 0);
});

const plan = (id: number): ActionPlan & { id: number } => ({
  id, createdAt: 1_700_000_000_000 + id, policy: { cpuTargetUtilization: 0.8, memTargetUtilization: 0.9 }, hostsBefore: 2, hostsAfter: 1, hostsSaved: 1,
  loadAfter: [], unplaced: [], actions: [{ kind: 'power-off', hostId: `h-${id}`, reason: 'empty' }],
});

test('the API serves shared reads from memory within the TTL, and a write through it is visible at once', async () => {
  const keys = memoryKeyStore();
  let latest = plan(1);
  let reads = 0;
  let state: 'proposed' | 'approved' = 'proposed';
  const api = await buildApi(stubDeps({
    keys: keys.store,
    readCacheMs: 400,
    latestPlan: async () => (reads++, latest),
    plans: {
      list: async () => [{ planId: latest.id, state, reason: 'r', createdAt: new Date(0), updatedAt: new Date(0), actions: { proposed: 1 } as never }],
      load: async (id) => (id === latest.id ? latest : null),
      execution: async () => null,
      rightsizing: async () => null,
      loadAfter: async () => null,
      events: async () => [],
      transition: async () => { const from = state; state = 'approved'; return from; },
    },
  }));
  const viewer = (await keys.store.create('v', 'viewer')).token;
  const operator = (await keys.store.create('o', 'operator')).token;
  const get = (url: string, key = viewer) => api.inject({ url, headers: { authorization: `Bearer ${key}` } });
  try {
    const first = await get('/v1/recommendations');
    assert.equal(first.statusCode, 200);
    assert.equal(first.json().id, 1);
    latest = plan(2); // a new plan stored elsewhere (the planner)
    const cached = await get('/v1/recommendations');
    assert.equal(cached.json().id, 1, 'within the TTL the answer may be the one from before');
    assert.equal(cached.body, first.body);
    assert.equal(cached.headers['cache-control'], 'no-store', 'answers from memory carry the same headers');
    assert.equal(reads, 1);
    assert.equal((await api.inject({ url: '/v1/recommendations' })).statusCode, 401, 'every request is still authenticated');
    await sleep(450);
    assert.equal((await get('/v1/recommendations')).json().id, 2, 'after the TTL the change made elsewhere shows');

    assert.equal((await get('/v1/plans')).json().plans[0].state, 'proposed');
    const approved = await api.inject({ method: 'POST', url: '/v1/plans/2/approve', headers: { authorization: `Bearer ${operator}` }, payload: {} });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal((await get('/v1/plans')).json().plans[0].state, 'approved', 'a plan approved through this API is visible at once');
  } finally {
    await api.close();
  }
});

test('without readCacheMs every request reads through', async () => {
  const keys = memoryKeyStore();
  let reads = 0;
  const api = await buildApi(stubDeps({ keys: keys.store, latestPlan: async () => (reads++, plan(1)) }));
  const viewer = (await keys.store.create('v', 'viewer')).token;
  try {
    for (let i = 0; i < 3; i++) assert.equal((await api.inject({ url: '/v1/recommendations', headers: { authorization: `Bearer ${viewer}` } })).statusCode, 200);
    assert.equal(reads, 3);
  } finally {
    await api.close();
  }
});

test('a cached answer goes gzip-compressed to callers that accept it, as it is to the others', async () => {
  const keys = memoryKeyStore();
  const big = { ...plan(1), loadAfter: Array.from({ length: 200 }, (_, i) => ({ hostId: `host-${i}`, cpuCores: i, memBytes: i * 1e9, cpuCapacity: 64, memCapacity: 2.7e11, vmCount: 8 })) };
  const api = await buildApi(stubDeps({ keys: keys.store, readCacheMs: 60_000, latestPlan: async () => big }));
  const viewer = (await keys.store.create('v', 'viewer')).token;
  const get = (enc?: string) => api.inject({ url: '/v1/recommendations', headers: { authorization: `Bearer ${viewer}`, ...(enc ? { 'accept-encoding': enc } : {}) } });
  try {
    const plain = await get();
    assert.equal(plain.headers['content-encoding'], undefined);
    const zipped = await get('gzip, deflate, br');
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'accept-encoding');
    assert.ok(zipped.rawPayload.length < plain.rawPayload.length / 3, `${zipped.rawPayload.length} vs ${plain.rawPayload.length} bytes`);
    assert.equal(gunzipSync(zipped.rawPayload).toString(), plain.body);
    assert.equal((await get('identity')).body, plain.body);
  } finally {
    await api.close();
  }
});

test('the request that loads an answer is compressed too when its caller accepts gzip, and the next is served the same bytes from memory', async () => {
  const keys = memoryKeyStore();
  const big = { ...plan(1), loadAfter: Array.from({ length: 200 }, (_, i) => ({ hostId: `host-${i}`, cpuCores: i, memBytes: i * 1e9, cpuCapacity: 64, memCapacity: 2.7e11, vmCount: 8 })) };
  let reads = 0;
  const api = await buildApi(stubDeps({ keys: keys.store, readCacheMs: 60_000, latestPlan: async () => (reads++, big) }));
  const viewer = (await keys.store.create('v', 'viewer')).token;
  const get = (enc?: string) => api.inject({ url: '/v1/recommendations', headers: { authorization: `Bearer ${viewer}`, ...(enc ? { 'accept-encoding': enc } : {}) } });
  try {
    const first = await get('gzip');
    assert.equal(reads, 1, 'this request loaded the answer');
    assert.equal(first.headers['content-encoding'], 'gzip');
    const body = JSON.parse(gunzipSync(first.rawPayload).toString());
    assert.equal(body.loadAfter.length, 200);
    const second = await get('gzip');
    assert.equal(reads, 1, 'served from memory');
    assert.deepEqual(second.rawPayload, first.rawPayload);
    const plain = await get();
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, gunzipSync(first.rawPayload).toString());
  } finally {
    await api.close();
  }
});

test('host and VM pages are kept half the TTL (their lists the other half, where they are read), compressed like the rest', async () => {
  const keys = memoryKeyStore();
  let listReads = 0;
  const hosts = Array.from({ length: 50 }, (_, i) => ({ hostId: `host-${i}`, cpuCores: 64, memBytes: 2.7e11, vmCount: 8, cpuP95Cores: i, memReservedBytes: i * 1e9, updatedAt: new Date(0) }));
  const api = await buildApi(stubDeps({ keys: keys.store, readCacheMs: 400, listHosts: async () => (listReads++, hosts) }));
  const viewer = (await keys.store.create('v', 'viewer')).token;
  const get = () => api.inject({ url: '/v1/hosts?limit=50', headers: { authorization: `Bearer ${viewer}`, 'accept-encoding': 'gzip' } });
  try {
    const first = await get();
    assert.equal(first.headers['content-encoding'], 'gzip');
    assert.equal(JSON.parse(gunzipSync(first.rawPayload).toString()).hosts.length, 50);
    await get();
    assert.equal(listReads, 1, 'the page answer is kept');
    assert.equal(pagedListTtlMs(400), 200);
    await sleep(260); // past the page's 200 ms
    await get();
    assert.equal(listReads, 2, 'and no longer than its half of the TTL');
  } finally {
    await api.close();
  }
});

test('pages of a saved plan are kept past the read TTL and through writes, which cannot change them', async () => {
  assert.ok(STORED_ANSWER_TTL_MS >= 60_000);
  const keys = memoryKeyStore();
  let pageReads = 0;
  let state: 'proposed' | 'approved' = 'proposed';
  const api = await buildApi(stubDeps({
    keys: keys.store,
    readCacheMs: 100,
    plans: {
      list: async () => [],
      load: async (id) => (id === 1 ? plan(1) : null),
      execution: async () => null,
      rightsizing: async (id) => (pageReads++, id === 1 ? { recommendations: [], total: 0 } : null),
      loadAfter: async () => null,
      events: async () => [],
      transition: async () => { const from = state; state = 'approved'; return from; },
    },
  }));
  const viewer = (await keys.store.create('v', 'viewer')).token;
  const operator = (await keys.store.create('o', 'operator')).token;
  const get = (url: string) => api.inject({ url, headers: { authorization: `Bearer ${viewer}` } });
  try {
    assert.equal((await get('/v1/plans/1/rightsizing')).statusCode, 200);
    await sleep(150);
    assert.equal((await get('/v1/plans/1/rightsizing')).statusCode, 200);
    assert.equal(pageReads, 1, 'past the 100 ms read TTL, still from memory');
    const approved = await api.inject({ method: 'POST', url: '/v1/plans/1/approve', headers: { authorization: `Bearer ${operator}` }, payload: {} });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal((await get('/v1/plans/1/rightsizing')).statusCode, 200);
    assert.equal(pageReads, 1, 'an approval does not change the plan\'s pages');
    assert.equal((await get('/v1/plans/2/rightsizing')).statusCode, 404);
    assert.equal((await get('/v1/plans/2/rightsizing')).statusCode, 404);
    assert.equal(pageReads, 3, 'a 404 is not kept');
  } finally {
    await api.close();
  }
});

test('a handler that sends its own gzip answer (a settled plan) is served from memory to callers that accept gzip; others get its plain answer', async () => {
  const app = Fastify();
  registerReadCache(app, { ttlMs: 60_000, forecastTtlMs: 60_000 });
  const json = JSON.stringify({ id: 7, loadAfter: Array.from({ length: 100 }, (_, i) => ({ hostId: `h-${i}` })) });
  const zipped = gzipSync(json);
  let handled = 0;
  app.get('/v1/plans/:id', async (req, reply) => {
    handled++;
    if (!/gzip/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.type('application/json; charset=utf-8').send(json);
    return reply.type('application/json; charset=utf-8').header('content-encoding', 'gzip').send(zipped);
  });
  try {
    const get = (enc?: string) => app.inject({ url: '/v1/plans/7', headers: enc ? { 'accept-encoding': enc } : {} });
    for (let i = 0; i < 3; i++) {
      const r = await get('gzip');
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(r.rawPayload).toString(), json);
    }
    assert.equal(handled, 1, 'the handler ran once; then from memory');
    const plain = await get();
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, json);
    assert.equal(handled, 2, 'a caller without gzip is answered by the handler');
  } finally {
    await app.close();
  }
});
