import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { NovaError, type Migration, type PgPool } from '../core/index.ts';

/**
 * API keys: `nck_<id>_<secret>`, the secret 256 random bits in base64url. Only a salted SHA-256
 * of the secret is stored (a 256-bit random secret needs no slow hash: there is nothing to
 * guess), so the database never holds what a caller presents. The key is shown once, at creation.
 */
export const API_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 'api-001',
    sql: `
      create table api_keys (
        id text primary key,
        name text not null,
        role text not null check (role in ('viewer', 'operator', 'admin')),
        salt bytea not null,
        hash bytea not null,
        created_at timestamptz not null default now(),
        revoked_at timestamptz,
        last_used_at timestamptz
      );
      -- A name stays free for reuse once its key is revoked.
      create unique index api_keys_active_name on api_keys (name) where revoked_at is null;
      create table api_auth_refusals (
        id bigserial primary key,
        at timestamptz not null default now(),
        method text not null,
        route text not null,
        status int not null,
        reason text not null,
        key_id text,
        remote_addr text
      );
      create index api_auth_refusals_at on api_auth_refusals (at);`,
  },
]);

/** Roles, each including the ones before it. */
export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** True when a key with role `has` may call a route that needs `needs`. */
export function roleAllows(has: ApiRole, needs: ApiRole): boolean {
  return API_ROLES.indexOf(has) >= API_ROLES.indexOf(needs);
}

/** What is known of a key, never its secret. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  role: ApiRole;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** A stored key: its info plus the salted hash its presented secret is checked against. */
export interface StoredApiKey extends ApiKeyInfo {
  salt: Buffer;
  hash: Buffer;
}

/** One refused request, as audited (never the presented secret). */
export interface AuthRefusal {
  method: string;
  route: string;
  status: 401 | 403;
  reason: string;
  keyId: string | null;
  remoteAddr: string | null;
}

export interface AuthRefusalRow extends AuthRefusal {
  id: number;
  at: Date;
}

/** Where keys and refusals live; the composition root wires PostgreSQL, unit tests a map. */
export interface ApiKeyStore {
  find(id: string): Promise<StoredApiKey | null>;
  /** Records that the key was used now. */
  touch(id: string): Promise<void>;
  recordRefusal(refusal: AuthRefusal): Promise<void>;
  create(name: string, role: ApiRole): Promise<{ key: ApiKeyInfo; token: string }>;
  list(): Promise<ApiKeyInfo[]>;
  /** Revokes key `id` (API_KEY_NOT_FOUND when unknown); revoking twice keeps the first time. */
  revoke(id: string): Promise<ApiKeyInfo>;
  refusals(opts?: { limit?: number; beforeId?: number }): Promise<AuthRefusalRow[]>;
}

const PREFIX = 'nck_';
const KEY_RE = /^nck_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Names become the audit actor (`key:<name>`): keep them plain. */
export const KEY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** A new key: its public id, its secret, and the token the caller presents. */
export function generateApiKey(): { id: string; secret: string; token: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `${PREFIX}${id}_${secret}` };
}

/** The id and secret of a presented token, or null when it is not shaped like a key. */
export function parseApiKey(token: string): { id: string; secret: string } | null {
  const m = KEY_RE.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

/** Salted SHA-256 of a secret. */
export function hashSecret(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}

/** True when `secret` hashes (with the key's salt) to the stored hash; constant time. */
export function secretMatches(key: Pick<StoredApiKey, 'salt' | 'hash'>, secret: string): boolean {
  const got = hashSecret(key.salt, secret);
  return got.length === key.hash.length && timingSafeEqual(got, key.hash);
}

/** Checks a name and a role given by a person (API_KEY_INVALID naming the field). */
export function checkKeyFields(name: unknown, role: unknown): { name: string; role: ApiRole } {
  if (typeof name !== 'string' || !KEY_NAME_RE.test(name)) {
    throw new NovaError('API_KEY_INVALID', `key name ${JSON.stringify(name)} is invalid: 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`, { details: { field: 'name' } });
  }
  if (!API_ROLES.includes(role as ApiRole)) {
    throw new NovaError('API_KEY_INVALID', `key role ${JSON.stringify(role)} is invalid: one of ${API_ROLES.join(', ')}`, { details: { field: 'role' } });
  }
  return { name, role: role as ApiRole };
}

interface KeyRow {
  id: string;
  name: string;
  role: ApiRole;
  salt: Buffer;
  hash: Buffer;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const info = (r: KeyRow): ApiKeyInfo => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at });

function storeError(what: string, cause: unknown): NovaError {
  if (cause instanceof NovaError) return cause;
  const code = (cause as { code?: string }).code;
  if (code === '42P01') return new NovaError('API_STORE_FAILED', `cannot ${what}: the API tables do not exist; run the migrations (API_MIGRATIONS, applied by ./novacron serve)`, { cause });
  return new NovaError('API_STORE_FAILED', `cannot ${what}: ${(cause as Error).message}`, { retriable: true, cause });
}

/** Creates a key; returns it with the token, which exists nowhere else afterwards. */
export async function createApiKey(pool: PgPool, name: string, role: ApiRole): Promise<{ key: ApiKeyInfo; token: string }> {
  const fields = checkKeyFields(name, role);
  const { id, secret, token } = generateApiKey();
  const salt = randomBytes(16);
  try {
    const r = await pool.query<KeyRow>('insert into api_keys (id, name, role, salt, hash) values ($1, $2, $3, $4, $5) returning *', [id, fields.name, fields.role, salt, hashSecret(salt, secret)]);
    return { key: info(r.rows[0]!), token };
  } catch (cause) {
    if ((cause as { code?: string }).code === '23505') throw new NovaError('API_KEY_EXISTS', `a key named "${name}" exists and is not revoked; pick another name or revoke it first`, { details: { field: 'name' } });
    throw storeError('create the API key', cause);
  }
}

/** Every key, newest first (revoked ones too), without secrets. */
export async function listApiKeys(pool: PgPool): Promise<ApiKeyInfo[]> {
  try {
    return (await pool.query<KeyRow>('select * from api_keys order by created_at desc, id')).rows.map(info);
  } catch (cause) {
    throw storeError('list the API keys', cause);
  }
}

/** Revokes a key (API_KEY_NOT_FOUND when unknown). */
export async function revokeApiKey(pool: PgPool, id: string): Promise<ApiKeyInfo> {
  try {
    const r = await pool.query<KeyRow>('update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 returning *', [id]);
    if (!r.rows[0]) throw new NovaError('API_KEY_NOT_FOUND', `no API key has id "${id}"; ./novacron keys list shows them`, { details: { field: 'id' } });
    return info(r.rows[0]);
  } catch (cause) {
    throw storeError(`revoke API key ${id}`, cause);
  }
}

/** The PostgreSQL key store (tables from API_MIGRATIONS). */
export function pgApiKeyStore(pool: PgPool): ApiKeyStore {
  return {
    find: async (id) => {
      try {
        const r = await pool.query<KeyRow>('select * from api_keys where id = $1', [id]);
        return r.rows[0] ? { ...info(r.rows[0]), salt: r.rows[0].salt, hash: r.rows[0].hash } : null;
      } catch (cause) {
        throw storeError('look the API key up', cause);
      }
    },
    touch: async (id) => {
      try {
        await pool.query(`update api_keys set last_used_at = now() where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')`, [id]);
      } catch (cause) {
        throw storeError('record the API key use', cause);
      }
    },
    recordRefusal: async (r) => {
      try {
        await pool.query('insert into api_auth_refusals (method, route, status, reason, key_id, remote_addr) values ($1, $2, $3, $4, $5, $6)', [r.method, r.route, r.status, r.reason, r.keyId, r.remoteAddr]);
      } catch (cause) {
        throw storeError('audit the refused request', cause);
      }
    },
    create: (name, role) => createApiKey(pool, name, role),
    list: () => listApiKeys(pool),
    revoke: (id) => revokeApiKey(pool, id),
    refusals: async (opts = {}) => {
      try {
        const r = await pool.query<{ id: string; at: Date; method: string; route: string; status: number; reason: string; key_id: string | null; remote_addr: string | null }>(
          'select * from api_auth_refusals where ($1::bigint is null or id < $1) order by id desc limit $2',
          [opts.beforeId ?? null, opts.limit ?? 100],
        );
        return r.rows.map((x) => ({ id: Number(x.id), at: x.at, method: x.method, route: x.route, status: x.status as 401 | 403, reason: x.reason, keyId: x.key_id, remoteAddr: x.remote_addr }));
      } catch (cause) {
        throw storeError('read the refused requests', cause);
      }
    },
  };
}
