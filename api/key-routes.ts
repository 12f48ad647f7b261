import type { FastifyInstance } from 'fastify';
import type { KeyVerifier } from './auth.ts';
import { API_ROLES, type ApiKeyInfo, type ApiKeyStore, type ApiRole } from './keys.ts';
import { errorResponses } from './schemas.ts';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());
const keyView = (k: ApiKeyInfo) => ({ id: k.id, name: k.name, role: k.role, createdAt: iso(k.createdAt), revokedAt: iso(k.revokedAt), lastUsedAt: iso(k.lastUsedAt) });
const keySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: [...API_ROLES] },
    createdAt: { type: 'string', format: 'date-time' },
    revokedAt: { type: 'string', format: 'date-time', nullable: true },
    lastUsedAt: { type: 'string', format: 'date-time', nullable: true, description: 'written at most once a minute' },
  },
} as const;
const keyIdParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 16, maxLength: 16, pattern: '^[0-9a-f]{16}$', description: 'key id (16 hex digits; the part after nck_)' } } } as const;

/** Key management and the refusal audit, for admins: the same operations as ./novacron keys. */
export function registerKeyRoutes(app: FastifyInstance, keys: ApiKeyStore, verifier: KeyVerifier): void {
  app.get('/v1/keys', {
    config: { role: 'admin' },
    schema: { summary: 'Every API key (revoked ones too), without secrets', response: { 200: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } }, ...errorResponses() } },
  }, async () => ({ keys: (await keys.list()).map(keyView) }));

  app.post('/v1/keys', {
    config: { role: 'admin' },
    bodyLimit: 4096,
    schema: {
      summary: 'Creates an API key; the answer is the only place its secret ever appears',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'role'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: 'unique among keys not revoked; recorded as key:<name> in audit trails' },
          role: { type: 'string', enum: [...API_ROLES] },
        },
      },
      response: { 201: { type: 'object', properties: { key: keySchema, token: { type: 'string', description: 'present it as Authorization: Bearer <token>; it cannot be shown again' } } }, ...errorResponses(409, 413) },
    },
  }, async (req, reply) => {
    const { name, role } = req.body as { name: string; role: ApiRole };
    const made = await keys.create(name, role);
    req.log.info({ keyId: made.key.id, name, role, by: req.caller?.name }, 'API key created');
    return reply.code(201).send({ key: keyView(made.key), token: made.token });
  });

  app.post('/v1/keys/:id/revoke', {
    config: { role: 'admin' },
    schema: { summary: 'Revokes an API key (at once in this process; within the key cache time in other API processes)', params: keyIdParams, response: { 200: { type: 'object', properties: { key: keySchema } }, ...errorResponses(404) } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const key = await keys.revoke(id);
    verifier.forget(id);
    req.log.info({ keyId: id, by: req.caller?.name }, 'API key revoked');
    return { key: keyView(key) };
  });

  app.get('/v1/auth/refusals', {
    config: { role: 'admin' },
    schema: {
      summary: 'Refused requests (401, 403), newest first: when, method, route, status, reason, key id, remote address',
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }, before: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } } },
      response: {
        200: {
          type: 'object',
          properties: {
            refusals: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'integer' }, at: { type: 'string', format: 'date-time' }, method: { type: 'string' }, route: { type: 'string' }, status: { type: 'integer' },
                  reason: { type: 'string' }, keyId: { type: 'string', nullable: true }, remoteAddr: { type: 'string', nullable: true },
                },
              },
            },
          },
        },
        ...errorResponses(),
      },
    },
  }, async (req) => {
    const q = req.query as { limit: number; before?: number };
    const rows = await keys.refusals({ limit: q.limit, ...(q.before !== undefined ? { beforeId: q.before } : {}) });
    return { refusals: rows.map((r) => ({ ...r, at: r.at.toISOString() })) };
  });
}
