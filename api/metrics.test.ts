import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApi } from './server.ts';
import { sample, stubDeps } from './testing.ts';

test('/metrics serves request latency by route and status, requests in flight, plan and action counts read in the background, and process metrics', async () => {
  let reads = 0;
  const counts = { plans: { proposed: 2, succeeded: 1 } as Record<string, number>, actions: { proposed: 7, succeeded: 3 } as Record<string, number> };
  const deps = stubDeps({ stateCounts: async () => (reads++, structuredClone(counts)), stateRefreshMs: 60_000 });
  const app = await buildApi(deps);
  const key = (await deps.keys.create('grafana', 'viewer')).token;
  await app.ready();
  for (let i = 0; i < 3; i++) await app.inject({ url: '/v1/hosts', headers: { authorization: `Bearer ${key}` } });
  await app.inject({ url: '/v1/plans/1', headers: { authorization: `Bearer ${key}` } }); // 404: no such plan
  await app.inject({ url: '/v1/hosts' }); // 401
  await app.inject({ url: '/nowhere/1' });
  await app.inject({ url: '/nowhere/2' });

  const res = await app.inject({ url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  assert.match(text, /# TYPE novacron_api_request_duration_seconds histogram/);
  assert.equal(sample(text, 'novacron_api_request_duration_seconds_count', { method: 'GET', route: '/v1/hosts', status_code: '200' }), 3);
  assert.equal(sample(text, 'novacron_api_request_duration_seconds_count', { route: '/v1/plans/:id', status_code: '404' }), 1, 'by route pattern, not path');
  assert.equal(sample(text, 'novacron_api_request_duration_seconds_count', { route: '/v1/hosts', status_code: '401' }), 1, 'refused requests are timed too');
  assert.equal(sample(text, 'novacron_api_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }), 2, 'unknown paths share one series');
  assert.ok(sample(text, 'novacron_api_request_duration_seconds_bucket', { route: '/v1/hosts', status_code: '200', le: '+Inf' }) === 3);
  assert.equal(sample(text, 'novacron_api_requests_in_flight'), 1, 'the scrape itself is in flight');
  assert.equal(sample(text, 'novacron_plans', { state: 'proposed' }), 2);
  assert.equal(sample(text, 'novacron_plans', { state: 'rejected' }), 0, 'every known state is exported, zeros too');
  assert.equal(sample(text, 'novacron_plan_actions', { state: 'succeeded' }), 3);
  assert.equal(sample(text, 'novacron_api_state_refresh_failures'), 0);
  assert.ok((sample(text, 'process_cpu_user_seconds_total') ?? -1) >= 0, 'default process metrics');
  assert.ok(sample(text, 'nodejs_heap_size_used_bytes')! > 0);

  // Scrapes do not read PostgreSQL: the counts come from the background refresh.
  const before = reads;
  for (let i = 0; i < 5; i++) await app.inject({ url: '/metrics' });
  assert.equal(reads, before);
  assert.equal(before, 1, 'one read when the API got ready');
  await app.close();
});

test('a failing count read keeps the last counts and says so', async () => {
  let fail = false;
  const deps = stubDeps({ stateCounts: async () => { if (fail) throw new Error('PostgreSQL down'); return { plans: { running: 4 }, actions: {} }; }, stateRefreshMs: 20 });
  const app = await buildApi(deps);
  await app.ready();
  fail = true;
  await new Promise((r) => setTimeout(r, 150));
  const text = (await app.inject({ url: '/metrics' })).body;
  assert.equal(sample(text, 'novacron_plans', { state: 'running' }), 4);
  assert.ok(sample(text, 'novacron_api_state_refresh_failures')! >= 2, text.split('\n').filter((l) => l.includes('refresh')).join('\n'));
  assert.ok(sample(text, 'novacron_api_state_age_seconds')! >= 0.1);
  await app.close();
});
