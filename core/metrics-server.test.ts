import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { hasCode } from './errors.ts';
import { startMetricsServer } from './metrics-server.ts';

describe('startMetricsServer', () => {
  const registry = new Registry();
  new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);

  it('serves /metrics from the registry, /healthz as JSON, 404 elsewhere', async () => {
    const server = await startMetricsServer(registry, { host: '127.0.0.1', port: 0, portSetting: 'TEST_PORT', health: () => ({ ok: true, lastCycle: 'now' }) });
    try {
      const base = server.url.replace(/\/metrics$/, '');
      const metrics = await fetch(server.url);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^test_things_total 3$/m);
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { ok: true, lastCycle: 'now', status: 'ok' });
      assert.equal((await fetch(`${base}/other`)).status, 404);
      assert.equal((await fetch(server.url, { method: 'POST' })).status, 404);
    } finally {
      await server.close();
    }
  });

  it('answers 503 when the health report says so or cannot be made', async () => {
    let report: () => { ok: boolean } = () => ({ ok: false });
    const server = await startMetricsServer(registry, { host: '127.0.0.1', port: 0, portSetting: 'TEST_PORT', health: () => report() });
    try {
      const url = server.url.replace(/\/metrics$/, '/healthz');
      const down = await fetch(url);
      assert.equal(down.status, 503);
      assert.equal(((await down.json()) as { status: string }).status, 'unhealthy');
      report = () => { throw new Error('store gone'); };
      const broken = await fetch(url);
      assert.equal(broken.status, 503);
      assert.equal(((await broken.json()) as { error: string }).error, 'store gone');
    } finally {
      await server.close();
    }
  });

  it('a taken port fails with the caller\'s code, naming the setting to change', async () => {
    const first = await startMetricsServer(registry, { host: '127.0.0.1', port: 0, portSetting: 'TEST_PORT' });
    try {
      await assert.rejects(startMetricsServer(registry, { host: '127.0.0.1', port: first.port, portSetting: 'NOVACRON_X_METRICS_PORT', errorCode: 'X_METRICS_PORT' }), (e) => {
        assert.ok(hasCode(e, 'X_METRICS_PORT'));
        assert.match(e.message, /NOVACRON_X_METRICS_PORT/);
        return true;
      });
      await assert.rejects(startMetricsServer(registry, { host: '127.0.0.1', port: first.port, portSetting: 'P' }), (e) => hasCode(e, 'METRICS_LISTEN_FAILED'));
    } finally {
      await first.close();
    }
  });
});
