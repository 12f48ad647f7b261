import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { loadConfig, NovaError } from '../core/index.ts';
import type { Sample, VmSample } from '../schemas/index.ts';
import { classifyStoreError } from './store-retry.ts';
import { QuestDbSampleStore } from './sample-store.ts';
import { parseIlp } from '../test/support/ilp-parse.ts';

// What QuestDB 9.3.2 (the stack's) answers to GET /settings, verbatim; 8.x has no line.proto.support.versions.
const QUESTDB_9_SETTINGS = '{"config":{"release.type":"OSS","release.version":"9.3.2","http.settings.readonly":false,"accepting.writes":["http", "tcp", "pgwire"],"line.proto.support.versions":[1,2,3],"ilp.proto.transports":["tcp", "http"],"posthog.enabled":false,"posthog.api.key":null,"cairo.max.file.name.length":127},"preferences.version":0,"preferences":{}}';
const QUESTDB_8_SETTINGS = '{"config":{"release.type":"OSS","release.version":"8.2.3","acl.enabled":false,"posthog.enabled":false,"posthog.api.key":null},"preferences.version":0,"preferences":{}}';

// A stand-in HTTP server for the answers real QuestDB will not give on demand (503, a stall, an
// older release's settings); writes into the real QuestDB are tested in
// test/integration/sample-store.test.ts. GET /settings is answered as QuestDB 9.3.2 does unless
// `settings` says otherwise; `handle` sees every other request.
async function withServer(
  handle: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void,
  fn: (port: number) => Promise<void>,
  settings: (res: ServerResponse) => void = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(QUESTDB_9_SETTINGS),
): Promise<void> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => (req.method === 'GET' && req.url === '/settings' ? settings(res) : handle(req, Buffer.concat(parts), res)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn((server.address() as { port: number }).port);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const configFor = (port: number) => loadConfig({}, { QUESTDB_HTTP_PORT: String(port), NOVACRON_TABLE_PREFIX: 'u_' });
const vms = (n: number): Sample[] => Array.from({ length: n }, (_, i) => ({
  kind: 'vm', sample: { ts: 1_767_225_600_000 + i, hostId: 'h', vmId: `v${i}`, cpuUsedCores: 1, vcpus: 2, memUsedBytes: 1, memTotalBytes: 2, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0 } satisfies VmSample,
}));
const failure = (p: Promise<unknown>) => p.then(() => assert.fail('the write resolved'), (e: unknown) => e);

test('requests: POST /write?precision=ms, one table each, at most maxRequestBytes, no more than maxInFlight at once', async () => {
  const seen: { url: string; method: string; body: Buffer }[] = [];
  let inFlight = 0;
  let most = 0;
  await withServer((req, body, res) => {
    seen.push({ url: req.url!, method: req.method!, body });
    inFlight++;
    most = Math.max(most, inFlight);
    setTimeout(() => { inFlight--; res.writeHead(204).end(); }, 20);
  }, async (port) => {
    const store = new QuestDbSampleStore(configFor(port), { maxRequestBytes: 1000, maxInFlight: 3 });
    const host: Sample = { kind: 'host', sample: { ts: 1, hostId: 'h', cpuUsedCores: 1, cpuCapacityCores: 2, memUsedBytes: 1, memTotalBytes: 2, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, cpuStealPct: 0 } };
    await store.write([...vms(40), host]);
    await store.close();
  });
  assert.ok(seen.length > 3, `${seen.length} requests`);
  assert.ok(seen.every((r) => r.method === 'POST' && r.url === '/write?precision=ms'));
  assert.ok(seen.every((r) => r.body.length <= 1000));
  for (const r of seen) assert.equal(new Set(parseIlp(r.body).map((row) => row.table)).size, 1, 'one table per request');
  assert.equal(seen.flatMap((r) => parseIlp(r.body)).length, 41, 'every row sent once');
  assert.equal(most, 3);
});

test('HTTP 503 is a retriable STORE_HTTP_503; after a failure no further request starts', async () => {
  let requests = 0;
  await withServer((_req, _body, res) => {
    requests++;
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":"internal error","message":"table busy"}');
  }, async (port) => {
    const store = new QuestDbSampleStore(configFor(port), { maxRequestBytes: 300, maxInFlight: 1 });
    const err = await failure(store.write(vms(20)));
    assert.ok(err instanceof NovaError);
    assert.equal(err.code, 'STORE_HTTP_503');
    assert.equal(err.retriable, true);
    assert.match(err.message, /table busy/);
    assert.equal(classifyStoreError(err).retriable, true);
  });
  assert.equal(requests, 1, 'the other chunks were not sent after the first failed');
});

test('a server that does not answer in time: a retriable STORE_TIMEOUT', async () => {
  await withServer(() => undefined, async (port) => {
    const store = new QuestDbSampleStore(configFor(port), { requestTimeoutMs: 300 });
    const t0 = performance.now();
    const err = await failure(store.write(vms(2)));
    assert.ok(err instanceof NovaError);
    assert.equal(err.code, 'STORE_TIMEOUT');
    assert.equal(err.retriable, true);
    assert.ok(performance.now() - t0 < 5_000);
  });
});

test('a server that drops the connection without answering: a retriable STORE_UNREACHABLE_*; the next write opens a new connection', async () => {
  let drop = true;
  await withServer((req, _body, res) => {
    if (drop) req.socket.destroy();
    else res.writeHead(204).end();
  }, async (port) => {
    const store = new QuestDbSampleStore(configFor(port));
    const err = await failure(store.write(vms(2)));
    assert.ok(err instanceof NovaError);
    assert.match(err.code, /^STORE_UNREACHABLE/);
    assert.equal(err.retriable, true);
    drop = false;
    await store.write(vms(2));
    await store.close();
  });
});

test('a closed store refuses writes', async () => {
  await withServer((_req, _body, res) => res.writeHead(204).end(), async (port) => {
    const store = new QuestDbSampleStore(configFor(port));
    await store.write(vms(3));
    await store.close();
    assert.equal(((await failure(store.write(vms(1)))) as NovaError).code, 'STORE_CLOSED');
  });
});

// A write handler that answers 204 and counts the writes.
const acceptWrites = (writes: { n: number }) => (_req: IncomingMessage, _body: Buffer, res: ServerResponse) => {
  writes.n++;
  res.writeHead(204).end();
};

function expectStoreError(err: unknown, code: string | RegExp, retriable: boolean): NovaError {
  assert.ok(err instanceof NovaError, `a NovaError: ${String(err)}`);
  if (typeof code === 'string') assert.equal(err.code, code);
  else assert.match(err.code, code);
  assert.equal(err.retriable, retriable);
  assert.deepEqual(classifyStoreError(err), { code: err.code, retriable, message: err.message });
  return err;
}

test('a QuestDB older than 9.0 (no ILP protocol version 2) is named and refused before any row is sent: STORE_QUESTDB_UNSUPPORTED, not retriable', async () => {
  for (const [label, settings, said] of [
    ['8.2.3 settings', (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(QUESTDB_8_SETTINGS), /QuestDB 8\.2\.3 at 127\.0\.0\.1:\d+ takes ILP protocol version\(s\) 1,/],
    ['no /settings', (res: ServerResponse) => res.writeHead(404).end('Not Found'), /answered HTTP 404 to \/settings/],
    ['not JSON', (res: ServerResponse) => res.writeHead(200).end('<html>'), /does not name its version/],
  ] as const) {
    const writes = { n: 0 };
    await withServer(acceptWrites(writes), async (port) => {
      const store = new QuestDbSampleStore(configFor(port));
      const err = expectStoreError(await failure(store.write(vms(3))), 'STORE_QUESTDB_UNSUPPORTED', false);
      assert.match(err.message, said, label);
      assert.match(err.message, /QuestDB 9\.0 or later/, label);
      await store.close();
    }, settings);
    assert.equal(writes.n, 0, `${label}: no row was sent`);
  }
});

test('the server is asked once while it answers; settings it cannot give now (503, down) are asked for again before the next write', async () => {
  let asked = 0;
  let busy = true;
  const writes = { n: 0 };
  await withServer(acceptWrites(writes), async (port) => {
    const store = new QuestDbSampleStore(configFor(port));
    expectStoreError(await failure(store.write(vms(2))), 'STORE_HTTP_503', true);
    assert.equal(writes.n, 0);
    busy = false;
    await store.write(vms(2));
    await store.write(vms(2));
    await store.checkServer();
    assert.equal(asked, 2, 'asked again after the 503, then once');
    assert.equal(writes.n, 2);
    await store.close();
  }, (res) => {
    asked++;
    if (busy) res.writeHead(503).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(QUESTDB_9_SETTINGS);
  });
  const down = new QuestDbSampleStore(configFor(1));
  expectStoreError(await failure(down.checkServer()), /^STORE_UNREACHABLE/, true);
  await down.close();
});
