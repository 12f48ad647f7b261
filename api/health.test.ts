import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadinessChecker } from './health.ts';
import { buildApi } from './server.ts';
import { stubDeps } from './testing.ts';

/** A probe whose outcome the test sets, counting its calls. */
function probe() {
  const p = { calls: 0, fail: null as string | null, hang: false };
  const fn = async () => {
    p.calls++;
    if (p.hang) return new Promise(() => undefined);
    if (p.fail) throw new Error(p.fail);
    return undefined;
  };
  return Object.assign(p, { fn });
}

test('/healthz answers from memory and /readyz from the background checks: polling them calls no dependency', async () => {
  const pg = probe();
  const kafka = probe();
  const app = await buildApi(stubDeps({ dependencies: { postgres: pg.fn, kafka: kafka.fn }, readinessIntervalMs: 60_000 }));
  await app.ready();
  assert.deepEqual([pg.calls, kafka.calls], [1, 1], 'one round of checks when the API gets ready');
  for (let i = 0; i < 50; i++) {
    const live = await app.inject({ url: '/healthz' });
    assert.equal(live.statusCode, 200);
    assert.equal(live.json().status, 'ok');
    assert.ok(live.json().uptimeSeconds >= 0);
    const ready = await app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json().checks, { postgres: 'ok', kafka: 'ok' });
  }
  assert.deepEqual([pg.calls, kafka.calls], [1, 1], '100 probes later, still only the background round');
  await app.close();
});

test('/readyz answers 503 naming the dependency that is down, and recovers when the checker sees it back', async () => {
  const pg = probe();
  const questdb = probe();
  questdb.fail = 'cannot reach QuestDB (connect ECONNREFUSED 127.0.0.1:1)';
  const app = await buildApi(stubDeps({ dependencies: { postgres: pg.fn, questdb: questdb.fn }, readinessIntervalMs: 50 }));
  const down = await app.inject({ url: '/readyz' });
  assert.equal(down.statusCode, 503);
  assert.equal(down.json().status, 'not ready');
  assert.deepEqual(down.json().down, ['questdb']);
  assert.equal(down.json().checks.postgres, 'ok');
  assert.match(down.json().checks.questdb, /ECONNREFUSED/);
  assert.match(down.json().message, /questdb \(cannot reach QuestDB/);
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'liveness does not depend on the dependencies');

  questdb.fail = null;
  const deadline = Date.now() + 5000;
  let res = await app.inject({ url: '/readyz' });
  while (res.statusCode !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    res = await app.inject({ url: '/readyz' });
  }
  assert.equal(res.statusCode, 200);
  assert.ok(questdb.calls >= 2, 'checked again in the background');
  assert.ok(res.json().ageSeconds < 1, `fresh: ${res.json().ageSeconds}`);
  await app.close();
});

test('a check that hangs counts as down after the timeout, and no second one piles up behind it', async () => {
  const kafka = probe();
  kafka.hang = true;
  const checker = new ReadinessChecker({ kafka: kafka.fn }, 60_000, 30);
  const t0 = Date.now();
  await checker.refresh();
  assert.ok(Date.now() - t0 < 1000, 'a round is bounded by the timeout');
  assert.deepEqual(checker.snapshot().checks, { kafka: 'no answer within 30 ms' });
  assert.equal(checker.snapshot().ready, false);
  await checker.refresh();
  await checker.refresh();
  assert.equal(kafka.calls, 1, 'the hanging check is waited on, not started again');
});

test('before the first round ends, a dependency is "not checked yet" and the API is not ready', () => {
  const checker = new ReadinessChecker({ postgres: async () => undefined });
  assert.deepEqual(checker.snapshot(), { ready: false, checks: { postgres: 'not checked yet' }, ageSeconds: null });
});
