import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { pino } from 'pino';
import { apiLogger, DEFAULT_KEY_CACHE_MS, KeyVerifier, scrubUrl, TOUCH_EVERY_MS } from './auth.ts';
import { generateApiKey, hashSecret, parseApiKey, roleAllows, secretMatches, type ApiRole } from './keys.ts';
import { buildApi } from './server.ts';
import { memoryKeyStore, stubDeps } from './testing.ts';
import { logSink } from '../test/support/capture.ts';

test('keys look like nck_<16 hex>_<43 base64url>, carry 256 random bits, and parse back', () => {
  const a = generateApiKey();
  const b = generateApiKey();
  assert.match(a.token, /^nck_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(a.secret, 'base64url').length, 32);
  assert.notEqual(a.secret, b.secret);
  assert.deepEqual(parseApiKey(a.token), { id: a.id, secret: a.secret });
  for (const bad of ['', 'nck_', `${a.token}x`, a.token.slice(0, -1), a.token.replace('nck_', 'nck-'), `Bearer ${a.token}`, a.token.toUpperCase()]) assert.equal(parseApiKey(bad), null, bad);
});

test('a secret matches only its own salted hash; two keys with one secret would hash apart', () => {
  const { secret } = generateApiKey();
  const salt = randomBytes(16);
  const key = { salt, hash: hashSecret(salt, secret) };
  assert.ok(secretMatches(key, secret));
  assert.ok(!secretMatches(key, generateApiKey().secret));
  assert.ok(!secretMatches(key, secret.slice(1)));
  assert.notDeepEqual(hashSecret(randomBytes(16), secret), key.hash);
  assert.ok(!key.hash.toString('hex').includes(Buffer.from(secret, 'base64url').toString('hex')));
});

test('roles include the ones below them', () => {
  const order: ApiRole[] = ['viewer', 'operator', 'admin'];
  for (const has of order) for (const needs of order) assert.equal(roleAllows(has, needs), order.indexOf(has) >= order.indexOf(needs), `${has} → ${needs}`);
});

test('verified keys are cached for the cache time: a revocation made elsewhere bites when the entry expires', async () => {
  const { store, calls } = memoryKeyStore();
  let now = 1_000_000;
  const v = new KeyVerifier(store, pino({ level: 'silent' }), DEFAULT_KEY_CACHE_MS, () => now);
  const { key, token } = await store.create('alice', 'operator');
  assert.deepEqual(await v.verify(token), { ok: true, caller: { id: key.id, name: 'alice', role: 'operator' } });
  assert.equal((await v.verify(token)).ok, true);
  assert.equal(calls.find, 1, 'the second call is served from the cache');
  await store.revoke(key.id);
  now += DEFAULT_KEY_CACHE_MS - 1;
  assert.equal((await v.verify(token)).ok, true, 'still cached just before expiry');
  now += 1;
  const after = await v.verify(token);
  assert.equal(after.ok, false);
  assert.equal(!after.ok && after.code, 'revoked');
  assert.equal(calls.find, 2);
});

test('forget drops a key from the cache at once (a revocation through this process)', async () => {
  const { store } = memoryKeyStore();
  const v = new KeyVerifier(store, pino({ level: 'silent' }));
  const { key, token } = await store.create('bob', 'viewer');
  assert.equal((await v.verify(token)).ok, true);
  await store.revoke(key.id);
  v.forget(key.id);
  assert.equal((await v.verify(token)).ok, false);
});

test('wrong secrets, unknown ids and malformed tokens are refused, naming the key id when there is one', async () => {
  const { store } = memoryKeyStore();
  const v = new KeyVerifier(store, pino({ level: 'silent' }));
  const { key } = await store.create('carol', 'admin');
  const wrong = await v.verify(`nck_${key.id}_${generateApiKey().secret}`);
  assert.deepEqual(wrong, { ok: false, code: 'invalid', reason: 'secret does not match', keyId: key.id });
  const unknown = generateApiKey();
  assert.deepEqual(await v.verify(unknown.token), { ok: false, code: 'invalid', reason: 'unknown key id', keyId: unknown.id });
  assert.equal((await v.verify('letmein')).ok, false);
  // A failed attempt is never cached as a success.
  assert.equal((await v.verify(`nck_${key.id}_${generateApiKey().secret}`)).ok, false);
});

test('last_used_at is written at most once a minute per key', async () => {
  const { store, calls } = memoryKeyStore();
  let now = 5_000_000;
  const v = new KeyVerifier(store, pino({ level: 'silent' }), 1_000, () => now);
  const { token } = await store.create('dave', 'viewer');
  for (let i = 0; i < 50; i++) {
    await v.verify(token);
    now += 1_000;
  }
  assert.equal(calls.touch, 1, '50 s of calls, one write');
  now += TOUCH_EVERY_MS;
  await v.verify(token);
  assert.equal(calls.touch, 2);
});

test('URLs lose anything that looks like a key before they are logged', () => {
  const { token, id, secret } = generateApiKey();
  const scrubbed = scrubUrl(`/v1/plans?api_key=${token}&limit=5&token=abc#x`);
  assert.ok(!scrubbed.includes(secret));
  assert.equal(scrubbed, '/v1/plans?api_key=[redacted]&limit=5&token=[redacted]#x');
  assert.equal(scrubUrl(`/v1/plans/${token}`), `/v1/plans/nck_${id}_[redacted]`);
});

test('the API logger censors key-bearing headers wherever a request is logged (and its request serializer logs no headers)', () => {
  const { lines, logger } = logSink();
  const log = apiLogger(logger);
  const { token } = generateApiKey();
  log.info({ req: { headers: { authorization: `Bearer ${token}`, 'x-api-key': token, accept: 'application/json' } } }, 'x');
  log.info({ headers: { authorization: `Bearer ${token}`, 'x-api-key': token, accept: 'application/json' } }, 'y');
  const out = lines.join('');
  assert.ok(!out.includes(token), out);
  assert.match(out, /\[redacted\]/);
  assert.match(out, /"accept":"application\/json"/, 'other headers stay');
});

test('a /v1 route that declares no role cannot be registered', async () => {
  const { store } = memoryKeyStore();
  const app = await buildApi(stubDeps({ keys: store }));
  assert.throws(() => app.get('/v1/secret', async () => 'oops'), /declares no role/);
  app.get('/public-but-not-v1', async () => 'fine');
  await app.close();
});

test('a key store that is down refuses with 503 (retriable) and does not leak its error to the caller', async () => {
  const { store } = memoryKeyStore();
  const { lines, logger } = logSink('error');
  const { token } = await store.create('erin', 'viewer');
  store.find = async () => {
    throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
  };
  const app = await buildApi(stubDeps({ keys: store, logger }));
  const res = await app.inject({ url: '/v1/hosts', headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'API_AUTH_UNAVAILABLE');
  assert.equal(res.json().retriable, true);
  assert.ok(!res.body.includes('10.0.0.5'));
  assert.match(lines.join(''), /ECONNREFUSED/);
  assert.ok(!lines.join('').includes(token));
  await app.close();
});
