import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApi } from './server.ts';
import { stubDeps } from './testing.ts';

test('each API key gets its own per-minute budget; over it: 429 with Retry-After and the error body', async () => {
  const deps = stubDeps({ rateLimitPerMinute: 5 });
  const app = await buildApi(deps);
  const alice = (await deps.keys.create('alice', 'viewer')).token;
  const bob = (await deps.keys.create('bob', 'viewer')).token;
  const get = (key: string, url = '/v1/hosts') => app.inject({ url, headers: { authorization: `Bearer ${key}` } });

  for (let i = 0; i < 5; i++) {
    const res = await get(alice);
    assert.equal(res.statusCode, 200, `request ${i + 1} of 5`);
    assert.equal(res.headers['x-ratelimit-limit'], '5');
    assert.equal(res.headers['x-ratelimit-remaining'], String(4 - i));
  }
  const over = await get(alice, '/v1/plans');
  assert.equal(over.statusCode, 429, over.body);
  assert.deepEqual(Object.keys(over.json()).sort(), ['code', 'message', 'retriable']);
  assert.equal(over.json().code, 'API_RATE_LIMITED');
  assert.equal(over.json().retriable, true);
  assert.match(over.json().message, /more than 5 requests a minute from this API key \("alice"\); retry in/);
  const retryAfter = Number(over.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${over.headers['retry-after']}`);

  // Per key, not per address: bob (same address) is not held back by alice.
  assert.equal((await get(bob)).statusCode, 200);
  // Liveness and readiness are never limited (orchestrators poll them).
  for (let i = 0; i < 10; i++) assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  // Public routes count per address.
  const codes = [];
  for (let i = 0; i < 7; i++) codes.push((await app.inject({ url: '/openapi.json' })).statusCode);
  assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429]);
  await app.close();
});

test('a rate limit of 0 turns limiting off', async () => {
  const deps = stubDeps({ rateLimitPerMinute: 0 });
  const app = await buildApi(deps);
  const key = (await deps.keys.create('carol', 'viewer')).token;
  for (let i = 0; i < 50; i++) {
    const res = await app.inject({ url: '/v1/hosts', headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-ratelimit-limit'], undefined);
  }
  await app.close();
});

test('the configured body limit bounds every route (413 with the error body), route limits only lower it', async () => {
  const deps = stubDeps({ bodyLimitBytes: 2048 });
  const app = await buildApi(deps);
  const key = (await deps.keys.create('dave', 'admin')).token;
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

  const fits = await post('/v1/placements', { vmId: 'vm-1', vcpus: 1, memBytes: 1024, allowedHosts: Array.from({ length: 100 }, (_, i) => `h${i}`) });
  assert.equal(fits.statusCode, 200, fits.body);
  const big = await post('/v1/placements', { vmId: 'vm-1', vcpus: 1, memBytes: 1024, allowedHosts: Array.from({ length: 400 }, (_, i) => `host-${i}`) });
  assert.equal(big.statusCode, 413, big.body);
  assert.equal(big.json().code, 'API_BODY_TOO_LARGE');
  assert.match(big.json().message, /2048 bytes/);
  assert.equal(big.json().retriable, false);
  // The plan routes' own limit (16 KiB) is larger than the configured one here: the configured one wins.
  const reason = await post('/v1/plans/1/reject', { reason: 'x'.repeat(3000) });
  assert.equal(reason.statusCode, 413);
  // ...and a route's own smaller limit still applies under a larger configured one.
  const roomyDeps = stubDeps({ bodyLimitBytes: 1024 * 1024 });
  const roomy = await buildApi(roomyDeps);
  const admin = (await roomyDeps.keys.create('erin', 'admin')).token;
  const keyBody = await roomy.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'n', role: 'viewer', pad: 'x'.repeat(5000) }) });
  assert.equal(keyBody.statusCode, 413);
  assert.match(keyBody.json().message, /4096 bytes/);
  await roomy.close();
  await app.close();
});
