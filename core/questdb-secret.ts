import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from './config.ts';
import { NovaError } from './errors.ts';

/**
 * QuestDB's PG-wire password. There is no default in code: QUESTDB_PG_PASSWORD when set (a
 * deployment), else the one the local stack generated for the QuestDB it runs
 * (QUESTDB_PG_PASSWORD_FILE, default <NOVACRON_HOME>/secrets/questdb-pg-password).
 */
export function questdbPassword(config: Config): string {
  const { pgPassword, pgPasswordFile } = config.questdb;
  if (pgPassword) return pgPassword;
  let stored = '';
  try {
    stored = readFileSync(pgPasswordFile, 'utf8').trim();
  } catch {
    // Missing or unreadable: reported below with what to do.
  }
  if (stored) return stored;
  throw new NovaError('QUESTDB_PASSWORD_MISSING',
    `no QuestDB password: set QUESTDB_PG_PASSWORD (QuestDB's pg.password), or run ./novacron stack up, which generates one for the QuestDB it starts into ${pgPasswordFile}`,
    { details: { file: pgPasswordFile } });
}

/**
 * The password the local stack's QuestDB starts with: QUESTDB_PG_PASSWORD if set, else the stored
 * one, else a new random one written to the password file (owner-only), kept across restarts so
 * every process of this checkout finds the same one.
 */
export function ensureQuestdbPassword(config: Config): string {
  const { pgPassword, pgPasswordFile } = config.questdb;
  if (pgPassword) return pgPassword;
  if (existsSync(pgPasswordFile)) return questdbPassword(config);
  mkdirSync(dirname(pgPasswordFile), { recursive: true, mode: 0o700 });
  const generated = randomBytes(24).toString('base64url');
  writeFileSync(pgPasswordFile, `${generated}\n`, { mode: 0o600 });
  chmodSync(pgPasswordFile, 0o600);
  return generated;
}
