import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { generateApiKey, hashSecret, type ApiKeyInfo, type ApiKeyStore, type StoredApiKey } from './keys.ts';
import type { ApiDeps } from './server.ts';

// For the API's unit tests only (not exported from api/index.ts): a key store in memory and
// deps that answer without any server, so buildApi's own behaviour can be tested in isolation.

/** A key store in memory, counting lookups and touches (the auth cache's tests read them). */
export function memoryKeyStore(): { store: ApiKeyStore; keys: Map<string, StoredApiKey>; calls: { find: number; touch: number } } {
  const keys = new Map<string, StoredApiKey>();
  const calls = { find: 0, touch: 0 };
  const store: ApiKeyStore = {
    find: async (id) => (calls.find++, keys.get(id) ?? null),
    touch: async () => void calls.touch++,
    recordRefusal: async () => undefined,
    create: async (name, role) => {
      const { id, secret, token } = generateApiKey();
      const salt = randomBytes(16);
      const key: StoredApiKey = { id, name, role, createdAt: new Date(), revokedAt: null, lastUsedAt: null, salt, hash: hashSecret(salt, secret) };
      keys.set(id, key);
      return { key, token };
    },
    list: async () => [...keys.values()],
    revoke: async (id) => {
      const k = keys.get(id)!;
      k.revokedAt = new Date();
      return k as ApiKeyInfo;
    },
    refusals: async () => [],
  };
  return { store, keys, calls };
}

/** Deps with no servers behind them; `placements` collects what POST /v1/placements passed on. */
export function stubDeps(overrides: Partial<ApiDeps> = {}): ApiDeps & { placements: unknown[] } {
  const placements: unknown[] = [];
  return {
    latestPlan: async () => null,
    listHosts: async () => [],
    dryRunsForPlan: async () => [],
    placeVm: async (request) => {
      placements.push(request);
      return { target: 'none', reason: 'stub' };
    },
    dependencies: {},
    plans: {
      list: async () => [],
      load: async () => null,
      rightsizing: async () => null,
      loadAfter: async () => null,
      execution: async () => null,
      events: async () => [],
      transition: async () => 'proposed',
    },
    fleet: { vms: async () => [], anomalies: async () => [], savings: async () => [], forecast: async () => { throw new Error('no forecasts in unit tests'); } },
    keys: memoryKeyStore().store,
    logger: pino({ level: 'silent' }),
    placements,
    ...overrides,
  };
}

/** The value of one sample line of a Prometheus text exposition, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}
