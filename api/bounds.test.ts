import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { LIMITS } from './schemas.ts';
import { buildApi } from './server.ts';
import { stubDeps } from './testing.ts';

type Schema = Record<string, unknown>;

/**
 * Every way an input schema lets an unbounded value through, as "where: what is missing":
 * strings without maxLength (or enum/const), arrays without maxItems, numbers without a lower
 * and an upper bound, objects open to any property, and fields without a type.
 */
export function unboundedFields(schema: unknown, where: string): string[] {
  if (!schema || typeof schema !== 'object') return [`${where}: no schema`];
  const s = schema as Schema;
  const out: string[] = [];
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (Array.isArray(s[k])) (s[k] as unknown[]).forEach((sub, i) => out.push(...unboundedFields(sub, `${where}.${k}[${i}]`)));
  }
  if (s.enum !== undefined || s.const !== undefined) return out;
  const types = Array.isArray(s.type) ? (s.type as string[]) : s.type === undefined ? [] : [s.type as string];
  if (types.length === 0 && out.length === 0 && !s.anyOf && !s.oneOf && !s.allOf) out.push(`${where}: no type`);
  for (const t of types) {
    if (t === 'string' && typeof s.maxLength !== 'number') out.push(`${where}: string without maxLength`);
    if (t === 'number' || t === 'integer') {
      if (!Number.isFinite(s.minimum) && !Number.isFinite(s.exclusiveMinimum)) out.push(`${where}: number without minimum`);
      if (!Number.isFinite(s.maximum) && !Number.isFinite(s.exclusiveMaximum)) out.push(`${where}: number without maximum`);
    }
    if (t === 'array') {
      if (typeof s.maxItems !== 'number') out.push(`${where}: array without maxItems`);
      out.push(...unboundedFields(s.items, `${where}[]`));
    }
    if (t === 'object') {
      if (s.additionalProperties !== false) out.push(`${where}: object open to any property (additionalProperties is not false)`);
      for (const [name, sub] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) out.push(...unboundedFields(sub, `${where}.${name}`));
    }
  }
  return out;
}

interface Operation {
  parameters?: { in: string; name: string; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
}

/** Every input of every route in the OpenAPI document (path and query parameters, request bodies), as [where, schema]. */
function inputsOf(app: FastifyInstance): [string, unknown][] {
  const spec = app.swagger() as { paths: Record<string, Record<string, Operation>> };
  const inputs: [string, unknown][] = [];
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const p of op.parameters ?? []) inputs.push([`${method.toUpperCase()} ${path} ${p.in} ${p.name}`, p.schema]);
      for (const [type, c] of Object.entries(op.requestBody?.content ?? {})) inputs.push([`${method.toUpperCase()} ${path} body (${type})`, c.schema]);
    }
  }
  return inputs;
}

test('every input field of every route is bounded (strings maxLength, arrays maxItems, numbers minimum and maximum, closed objects)', async () => {
  const app = await buildApi(stubDeps());
  await app.ready();
  const inputs = inputsOf(app);
  // Not vacuous: the routes that take input are all seen.
  const where = inputs.map(([w]) => w).join('\n');
  for (const expected of ['POST /v1/placements body', 'GET /v1/hosts query limit', 'GET /v1/plans/{id} path id', 'POST /v1/plans/{id}/reject body', 'POST /v1/keys body', 'POST /v1/keys/{id}/revoke path id', 'GET /v1/auth/refusals query before', 'GET /v1/vms query hostId', 'GET /v1/anomalies query from', 'GET /v1/savings query before', 'GET /v1/vms/{vmId}/forecast path vmId']) {
    assert.ok(where.includes(expected), `${expected} is among the inputs:\n${where}`);
  }
  const problems = inputs.flatMap(([w, schema]) => unboundedFields(schema, w));
  assert.deepEqual(problems, [], `unbounded inputs:\n${problems.join('\n')}`);
  await app.close();
});

test('the bounds check catches a new route whose inputs are not bounded', async () => {
  const app = await buildApi(stubDeps());
  app.post('/v1/unbounded', {
    config: { role: 'operator' },
    schema: {
      querystring: { type: 'object', properties: { page: { type: 'integer', minimum: 0 } } },
      body: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string', maxLength: 8 } }, size: { type: 'number', maximum: 3 }, meta: { type: 'object' } } },
    },
  }, async () => ({}));
  await app.ready();
  const problems = inputsOf(app).filter(([w]) => w.includes('/v1/unbounded')).flatMap(([w, s]) => unboundedFields(s, w));
  assert.deepEqual(problems.sort(), [
    'POST /v1/unbounded body (application/json).meta: object open to any property (additionalProperties is not false)',
    'POST /v1/unbounded body (application/json).name: string without maxLength',
    'POST /v1/unbounded body (application/json).size: number without minimum',
    'POST /v1/unbounded body (application/json).tags: array without maxItems',
    'POST /v1/unbounded query page: number without maximum',
  ]);
  await app.close();
});

test('out-of-bounds numbers, NaN-ish strings, oversized strings and arrays are refused with 400 naming the field', async () => {
  const deps = stubDeps();
  const app = await buildApi(deps);
  const operator = (await deps.keys.create('op', 'operator')).token;
  const admin = (await deps.keys.create('adm', 'admin')).token;
  const send = (method: 'GET' | 'POST', url: string, payload?: string | object, key = operator) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(payload !== undefined ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) } : {}) });
  const ok = { vmId: 'vm-1', vcpus: 2, memBytes: 2 ** 32 };

  const cases: [string, 'GET' | 'POST', string, string | object | undefined, string][] = [
    ['memBytes 1e300 (an "integer" to JSON Schema)', 'POST', '/v1/placements', '{"vmId":"vm-1","vcpus":2,"memBytes":1e300}', 'memBytes'],
    ['memBytes over 64 TiB', 'POST', '/v1/placements', { ...ok, memBytes: LIMITS.memBytes + 1 }, 'memBytes'],
    ['memBytes "1e300" as a string', 'POST', '/v1/placements', { ...ok, memBytes: '1e300' }, 'memBytes'],
    ['memBytes "NaN"', 'POST', '/v1/placements', { ...ok, memBytes: 'NaN' }, 'memBytes'],
    ['vcpus "NaN"', 'POST', '/v1/placements', { ...ok, vcpus: 'NaN' }, 'vcpus'],
    ['vcpus "Infinity"', 'POST', '/v1/placements', { ...ok, vcpus: 'Infinity' }, 'vcpus'],
    ['vcpus "-Infinity"', 'POST', '/v1/placements', { ...ok, vcpus: '-Infinity' }, 'vcpus'],
    ['memBytes "1e999" (Infinity once coerced)', 'POST', '/v1/placements', { ...ok, memBytes: '1e999' }, 'memBytes'],
    ['vcpus 1e999 in the JSON', 'POST', '/v1/placements', '{"vmId":"vm-1","vcpus":1e999,"memBytes":1024}', 'vcpus'],
    ['vcpus -1', 'POST', '/v1/placements', { ...ok, vcpus: -1 }, 'vcpus'],
    ['vcpus 1025', 'POST', '/v1/placements', { ...ok, vcpus: 1025 }, 'vcpus'],
    ['expectedCpuCores 1e300', 'POST', '/v1/placements', '{"vmId":"vm-1","vcpus":2,"memBytes":1024,"expectedCpuCores":1e300}', 'expectedCpuCores'],
    ['vmId over 253 characters', 'POST', '/v1/placements', { ...ok, vmId: 'v'.repeat(254) }, 'vmId'],
    ['vmId with a slash', 'POST', '/v1/placements', { ...ok, vmId: '../etc/passwd' }, 'vmId'],
    ['allowedHosts over 10 000 items', 'POST', '/v1/placements', { ...ok, allowedHosts: Array.from({ length: LIMITS.allowedHosts + 1 }, (_, i) => `h${i}`) }, 'allowedHosts'],
    ['an allowedHosts item with a query string', 'POST', '/v1/placements', { ...ok, allowedHosts: ['h1', 'h2?command=x'] }, 'allowedHosts.1'],
    ['allowedProviders over 32 items', 'POST', '/v1/placements', { ...ok, allowedProviders: Array.from({ length: 33 }, (_, i) => `p${i}`) }, 'allowedProviders'],
    ['an allowedZones item over 64 characters', 'POST', '/v1/placements', { ...ok, allowedZones: ['z'.repeat(65)] }, 'allowedZones.0'],
    ['hosts limit NaN', 'GET', '/v1/hosts?limit=NaN', undefined, 'limit'],
    ['hosts limit over 1000', 'GET', '/v1/hosts?limit=1001', undefined, 'limit'],
    ['hosts offset 1e300', 'GET', '/v1/hosts?offset=1e300', undefined, 'offset'],
    ['hosts offset negative', 'GET', '/v1/hosts?offset=-1', undefined, 'offset'],
    ['plan id NaN', 'GET', '/v1/plans/NaN', undefined, 'id'],
    ['plan id Infinity', 'GET', '/v1/plans/Infinity', undefined, 'id'],
    ['hosts offset Infinity', 'GET', '/v1/hosts?offset=Infinity', undefined, 'offset'],
    ['plan id 1e300', 'GET', '/v1/plans/1e300', undefined, 'id'],
    ['plans before Infinity', 'GET', '/v1/plans?before=Infinity', undefined, 'before'],
    ['refusals limit 501', 'GET', '/v1/auth/refusals?limit=501', undefined, 'limit'],
    ['a key name over 64 characters', 'POST', '/v1/keys', { name: 'k'.repeat(65), role: 'viewer' }, 'name'],
    ['a VM page of 1001', 'GET', '/v1/vms?limit=1001', undefined, 'limit'],
    ['a host id with a quote', 'GET', "/v1/vms?hostId=h'1", undefined, 'hostId'],
    ['an anomaly window start that is not a date', 'GET', '/v1/anomalies?from=NaN', undefined, 'from'],
    ['an anomaly window over 31 days', 'GET', '/v1/anomalies?from=2020-01-01T00:00:00Z&to=2020-03-01T00:00:00Z', undefined, 'from'],
    ['a savings cursor of 1e300', 'GET', '/v1/savings?before=1e300', undefined, 'before'],
    ['a key id of 17 characters', 'POST', `/v1/keys/${'a'.repeat(17)}/revoke`, undefined, 'id'],
  ];
  for (const [what, method, url, payload, field] of cases) {
    const res = await send(method, url, payload, url.includes('/keys') || url.includes('/auth/') ? admin : operator);
    assert.equal(res.statusCode, 400, `${what}: ${res.body.slice(0, 300)}`);
    assert.equal(res.json().code, 'API_BAD_REQUEST', what);
    assert.equal(res.json().field, field, `${what}: ${res.body.slice(0, 300)}`);
    assert.ok(res.json().message.includes(field.split('.')[0]!), `${what}: the message names the field: ${res.json().message}`);
  }
  assert.equal(deps.placements.length, 0, 'no refused placement reached the planner');

  // The bounds themselves are accepted: they are limits, not off-by-one refusals.
  const edge = await send('POST', '/v1/placements', { vmId: 'vm-edge', vcpus: LIMITS.vcpus, memBytes: LIMITS.memBytes, expectedCpuCores: 0, allowedHosts: ['h-1', 'rack1.host-2:a@b'], allowedZones: ['eu-west-1a'] });
  assert.equal(edge.statusCode, 200, edge.body);
  assert.deepEqual(deps.placements, [{ vmId: 'vm-edge', vcpus: LIMITS.vcpus, memBytes: LIMITS.memBytes, expectedCpuCores: 0, allowedHosts: ['h-1', 'rack1.host-2:a@b'], allowedZones: ['eu-west-1a'] }]);
  assert.equal((await send('GET', '/v1/hosts?limit=1000&offset=1000000')).statusCode, 200);
  await app.close();
});
