import { parseArgs } from 'node:util';
import { API_ROLES, createApiKey, DEFAULT_KEY_CACHE_MS, listApiKeys, parseApiKey, revokeApiKey, type ApiRole } from '../api/index.ts';
import { createPgPool, migrate, NovaError, type Config, type Logger } from '../core/index.ts';
import { ALL_MIGRATIONS } from './migrations.ts';
import { say } from './output.ts';

export const KEYS_USAGE = `usage: ./novacron keys create --name NAME --role viewer|operator|admin
       ./novacron keys list
       ./novacron keys revoke ID
  API keys (docs/api.md): viewer reads, operator also approves/rejects/executes plans and places VMs,
  admin also manages keys. A key is printed once, at creation; only its salted hash is stored.`;

const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

/** `novacron keys`: create, list and revoke the API's keys (in PostgreSQL, at DATABASE_URL). */
export async function keysCommand(argv: string[], config: Config, _log: Logger): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { name: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (cause) {
    throw new NovaError('CLI_USAGE', `${(cause as Error).message}\n${KEYS_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return say(KEYS_USAGE), values.help ? 0 : 2;
  const [verb, arg, ...extra] = positionals;
  if (extra.length > 0) throw new NovaError('CLI_USAGE', `unexpected arguments: ${extra.join(' ')}\n${KEYS_USAGE}`);
  // Check the arguments before touching the database.
  if (verb === 'create') {
    if (!values.name) throw new NovaError('CLI_USAGE', `keys create needs --name\n${KEYS_USAGE}`);
    if (!API_ROLES.includes(values.role as ApiRole)) throw new NovaError('CLI_USAGE', `keys create needs --role ${API_ROLES.join('|')}${values.role ? ` (got "${values.role}")` : ''}\n${KEYS_USAGE}`);
  } else if (verb === 'revoke') {
    if (arg && parseApiKey(arg)) throw new NovaError('CLI_USAGE', 'give the key\'s id (the 16 hex digits after nck_, shown by ./novacron keys list), not the key itself');
    if (!arg || !/^[0-9a-f]{16}$/.test(arg)) throw new NovaError('CLI_USAGE', `keys revoke needs a key id (16 hex digits, from ./novacron keys list), got ${JSON.stringify(arg)}\n${KEYS_USAGE}`);
  } else if (verb !== 'list') {
    throw new NovaError('CLI_USAGE', `unknown keys command "${verb}"\n${KEYS_USAGE}`);
  }

  const pool = createPgPool(config.databaseUrl);
  try {
    await migrate(pool, ALL_MIGRATIONS);
    if (verb === 'create') {
      const { key, token } = await createApiKey(pool, values.name!, values.role as ApiRole);
      say(`keys: created key ${key.id} "${key.name}" with role ${key.role}.`);
      say('Store it now: it is shown only this once and cannot be recovered (only its salted hash is kept).');
      say('');
      say(`  ${token}`);
      say('');
      say(`Send it as "Authorization: Bearer <key>" (or "X-Api-Key: <key>"), e.g.`);
      say(`  curl -H "Authorization: Bearer $NOVACRON_API_KEY" http://${config.api.host}:${config.api.port}/v1/plans`);
      return 0;
    }
    if (verb === 'list') {
      const keys = await listApiKeys(pool);
      if (keys.length === 0) {
        say('keys: none yet; every /v1 route answers 401 until one exists (./novacron keys create --name NAME --role viewer|operator|admin)');
        return 0;
      }
      say(`${'id'.padEnd(16)}  ${'name'.padEnd(24)} ${'role'.padEnd(8)} ${'created'.padEnd(20)} ${'last used'.padEnd(20)} revoked`);
      for (const k of keys) say(`${k.id}  ${k.name.padEnd(24)} ${k.role.padEnd(8)} ${when(k.createdAt).padEnd(20)} ${when(k.lastUsedAt).padEnd(20)} ${when(k.revokedAt)}`);
      return 0;
    }
    const key = await revokeApiKey(pool, arg!);
    say(`keys: revoked key ${key.id} "${key.name}" (${key.role}) at ${when(key.revokedAt)}; running API processes refuse it within ${DEFAULT_KEY_CACHE_MS / 1000} s (how long they cache a verified key)`);
    return 0;
  } finally {
    await pool.end();
  }
}
