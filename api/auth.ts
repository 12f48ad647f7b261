import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeError, type Logger } from '../core/index.ts';
import type { ApiErrorBody } from './errors.ts';
import { API_ROLES, parseApiKey, roleAllows, secretMatches, type ApiKeyStore, type ApiRole } from './keys.ts';

/** How long a verified key is trusted without looking at the store again: a revocation bites within this. */
export const DEFAULT_KEY_CACHE_MS = 30_000;
/** last_used_at is written at most this often per key. */
export const TOUCH_EVERY_MS = 60_000;
const MAX_CACHED = 1000;

/** Who called: the key that was verified (its secret is not kept). */
export interface Caller {
  id: string;
  name: string;
  role: ApiRole;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a key needs to call the route; every /v1 route declares one. */
    role?: ApiRole;
  }
  interface FastifyRequest {
    /** The verified key of the request, null on public routes. */
    caller: Caller | null;
  }
}

export type Verdict = { ok: true; caller: Caller } | { ok: false; code: 'malformed' | 'invalid' | 'revoked'; reason: string; keyId: string | null };

/** The audit actor of a caller. */
export const actorOf = (c: Caller) => `key:${c.name}`;

const CREATE_HINT = 'an administrator creates one on the server with: ./novacron keys create --name NAME --role viewer|operator|admin';

/**
 * Checks presented keys against the store, caching verified ones for `cacheMs` (keyed by a
 * hash of the token, so the cache holds no secret either). A revocation made elsewhere (the
 * CLI, another API process) is seen once the entry expires; one made through this process's
 * admin route is seen at once (`forget`).
 */
export class KeyVerifier {
  private readonly cache = new Map<string, { caller: Caller; until: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: ApiKeyStore,
    private readonly log: Logger,
    private readonly cacheMs = DEFAULT_KEY_CACHE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(token: string): Promise<Verdict> {
    const parsed = parseApiKey(token);
    if (!parsed) return { ok: false, code: 'malformed', reason: 'not shaped like a key (nck_<id>_<secret>)', keyId: null };
    const slot = createHash('sha256').update(token).digest('base64url');
    const hit = this.cache.get(slot);
    const now = this.now();
    if (hit && hit.until > now) {
      this.touch(hit.caller.id, now);
      return { ok: true, caller: hit.caller };
    }
    if (hit) this.cache.delete(slot);
    const key = await this.store.find(parsed.id);
    if (!key) return { ok: false, code: 'invalid', reason: 'unknown key id', keyId: parsed.id };
    if (!secretMatches(key, parsed.secret)) return { ok: false, code: 'invalid', reason: 'secret does not match', keyId: key.id };
    if (key.revokedAt) return { ok: false, code: 'revoked', reason: `key revoked at ${key.revokedAt.toISOString()}`, keyId: key.id };
    const caller: Caller = { id: key.id, name: key.name, role: key.role };
    if (this.cacheMs > 0) {
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(slot, { caller, until: now + this.cacheMs });
    }
    this.touch(key.id, now);
    return { ok: true, caller };
  }

  /** Drops a key from the cache (it was just revoked here). */
  forget(keyId: string): void {
    for (const [slot, entry] of this.cache) if (entry.caller.id === keyId) this.cache.delete(slot);
  }

  private touch(id: string, now: number): void {
    if (now - (this.touched.get(id) ?? -Infinity) < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    this.store.touch(id).catch((err: unknown) => this.log.warn({ err: describeError(err), keyId: id }, 'could not record the API key use'));
  }
}

/** The key a request presents (Authorization: Bearer, else X-Api-Key), or why the header is unusable. */
export function presentedKey(req: FastifyRequest): { token: string } | { bad: string } | null {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    return m ? { token: m[1]! } : { bad: 'Authorization header is not "Bearer <key>"' };
  }
  const x = req.headers['x-api-key'];
  if (Array.isArray(x)) return { bad: 'more than one X-Api-Key header' };
  return x ? { token: x.trim() } : null;
}

/** Path of a request without its query string, bounded (for the audit row). */
function routeOf(req: FastifyRequest): string {
  return (req.routeOptions.url ?? req.url.split('?')[0] ?? '').slice(0, 200);
}

function isV1(req: FastifyRequest): boolean {
  const path = req.url.split('?')[0] ?? '';
  return path === '/v1' || path.startsWith('/v1/');
}

/** The role a request needs: its route's, and viewer for anything else under /v1 (unknown routes too). */
export function requiredRole(req: FastifyRequest): ApiRole | undefined {
  return req.routeOptions.config?.role ?? (isV1(req) ? 'viewer' : undefined);
}

/**
 * The onRequest hook: runs before the body is read, so unauthenticated callers cannot make the
 * server parse anything. Refusals are audited, then answered with the API's error body.
 */
export function authHook(verifier: KeyVerifier, store: ApiKeyStore) {
  const refuse = async (req: FastifyRequest, reply: FastifyReply, status: 401 | 403, body: Omit<ApiErrorBody, 'retriable'>, reason: string, keyId: string | null) => {
    try {
      await store.recordRefusal({ method: req.method, route: routeOf(req), status, reason, keyId, remoteAddr: req.ip ?? null });
    } catch (err) {
      // Refuse anyway: a broken audit table must not open the door.
      req.log.error({ err: describeError(err) }, 'could not audit a refused request');
    }
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="novacron"');
    return reply.code(status).send({ ...body, retriable: false } satisfies ApiErrorBody);
  };

  return async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const needs = requiredRole(req);
    if (!needs) return undefined;
    const presented = presentedKey(req);
    if (presented === null) {
      return refuse(req, reply, 401, { code: 'API_UNAUTHENTICATED', message: `this route needs an API key with role ${needs} or above, sent as "Authorization: Bearer <key>" or "X-Api-Key: <key>"; ${CREATE_HINT}` }, 'no key presented', null);
    }
    if ('bad' in presented) {
      return refuse(req, reply, 401, { code: 'API_UNAUTHENTICATED', message: `${presented.bad}; send "Authorization: Bearer <key>" or "X-Api-Key: <key>"` }, presented.bad, null);
    }
    let verdict: Verdict;
    try {
      verdict = await verifier.verify(presented.token);
    } catch (err) {
      // The store's own message (a PostgreSQL error) is for the log, not for a caller not yet known.
      req.log.error({ err: describeError(err) }, 'could not check an API key');
      return reply.code(503).send({ code: 'API_AUTH_UNAVAILABLE', message: 'the API key cannot be checked now (the key store is unreachable); retry shortly', retriable: true } satisfies ApiErrorBody);
    }
    if (!verdict.ok) {
      const message =
        verdict.code === 'revoked' ? `this API key was revoked; ${CREATE_HINT}`
        : verdict.code === 'malformed' ? 'the API key is malformed (keys look like nck_<id>_<secret>); send it exactly as it was printed at creation'
        : `the API key is not valid; ${CREATE_HINT}`;
      return refuse(req, reply, 401, { code: 'API_UNAUTHENTICATED', message }, verdict.reason, verdict.keyId);
    }
    if (!roleAllows(verdict.caller.role, needs)) {
      return refuse(req, reply, 403, { code: 'API_FORBIDDEN', message: `${req.method} ${routeOf(req)} needs role ${needs} or above (${API_ROLES.slice(API_ROLES.indexOf(needs)).join(', ')}); key "${verdict.caller.name}" has role ${verdict.caller.role}` }, `role ${verdict.caller.role} below ${needs}`, verdict.caller.id);
    }
    req.caller = verdict.caller;
    return undefined;
  };
}

const KEY_IN_TEXT = /nck_([0-9a-f]{16})_[A-Za-z0-9_-]+/g;
const SECRET_PARAMS = /([?&](?:api[_-]?key|key|token|access_token)=)[^&#]*/gi;

/** A URL with anything that looks like a key or a key-bearing query parameter censored. */
export function scrubUrl(url: string): string {
  return url.replace(KEY_IN_TEXT, 'nck_$1_[redacted]').replace(SECRET_PARAMS, '$1[redacted]');
}

/** Header paths pino censors, wherever a request object is logged. */
export const REDACTED_PATHS = [
  'req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie',
  'headers.authorization', 'headers["x-api-key"]', 'headers.cookie',
  'request.headers.authorization', 'request.headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

/**
 * The API's logger: the process logger with key-bearing headers censored and a request
 * serializer that logs no headers and scrubs keys out of URLs (a key pasted into a query string
 * must not reach the log either).
 */
export function apiLogger(base: Logger): Logger {
  return base.child({}, {
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: typeof req.url === 'string' ? scrubUrl(req.url) : req.url,
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
  });
}
