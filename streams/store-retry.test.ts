import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NovaError } from '../core/index.ts';
import { backoffMs, classifyStoreError } from './store-retry.ts';

test('store errors: down or slow is retriable, refused data is not', () => {
  const cases: [unknown, string, boolean][] = [
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' }), 'STORE_UNREACHABLE_ECONNREFUSED', true],
    [new Error('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }), 'STORE_UNREACHABLE_UND_ERR_SOCKET', true],
    [Object.assign(new Error('x'), { errors: [Object.assign(new Error('a'), { code: 'ECONNRESET' })] }), 'STORE_UNREACHABLE_ECONNRESET', true],
    [new Error('HTTP request timeout, no response from server in time'), 'STORE_TIMEOUT', true],
    [new Error('HTTP request failed, statusCode=503, error=x'), 'STORE_HTTP_503', true],
    [new Error('HTTP request failed, statusCode=429, error=x'), 'STORE_HTTP_429', true],
    [new Error('HTTP request failed, statusCode=400, error=cast error'), 'STORE_HTTP_400', false],
    [new Error('HTTP request failed, statusCode=401, error='), 'STORE_HTTP_401', false],
    [new NovaError('QUESTDB_UNREACHABLE', 'down', { retriable: true }), 'QUESTDB_UNREACHABLE', true],
    [new NovaError('QUESTDB_QUERY_FAILED', 'bad', { retriable: false }), 'QUESTDB_QUERY_FAILED', false],
    [new Error('Table name is too long'), 'STORE_FAILED', false],
    ['a string', 'STORE_FAILED', false],
  ];
  for (const [err, code, retriable] of cases) {
    const f = classifyStoreError(err);
    assert.deepEqual([f.code, f.retriable], [code, retriable], String(err));
  }
});

test('backoff doubles from the base, is capped, and is jittered within [ceiling/2, ceiling]', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 40].map((a) => backoffMs(a, 500, 4_000, () => 1)), [500, 1000, 2000, 4000, 4000, 4000, 4000]);
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(a, 500, 4_000, () => 0)), [250, 500, 1000, 2000]);
  for (let a = 1; a < 50; a++) {
    const d = backoffMs(a, 100, 30_000);
    const ceiling = Math.min(30_000, 100 * 2 ** (a - 1));
    assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${a}: ${d}`);
  }
});
