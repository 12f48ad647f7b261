import pg from 'pg';
import { NovaError } from './errors.ts';

export type PgPool = pg.Pool;

/** A pool on DATABASE_URL whose idle-connection errors are not fatal. */
export function createPgPool(databaseUrl: string, max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on('error', () => undefined);
  return pool;
}

/** Database name in a postgres:// URL. */
export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new NovaError('CONFIG_INVALID', `DATABASE_URL names database "${name}": use letters, digits and _ only`);
  }
  return name;
}

/** Same server, maintenance database `postgres`: used to create the target database. */
export function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

/** True when a PostgreSQL server answers at the URL's host and port. */
export async function postgresReachable(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: maintenanceUrl(databaseUrl), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates the database named in the URL if it does not exist; returns true when it created it. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  const client = new pg.Client({ connectionString: maintenanceUrl(databaseUrl), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`create database "${name}"`);
    return true;
  } catch (cause) {
    if ((cause as { code?: string }).code === '42P04') return false; // created concurrently
    throw new NovaError('POSTGRES_UNREACHABLE', `cannot prepare PostgreSQL database "${name}" (${(cause as Error).message}); check DATABASE_URL`, { retriable: true, cause });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops the database named in the URL if it exists, even with connections left open (tests, benchmarks). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: maintenanceUrl(databaseUrl), connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${databaseName(databaseUrl)}" with (force)`);
  } finally {
    await admin.end();
  }
}

export interface Migration {
  id: string;
  sql: string;
}

/**
 * Applies each module's migrations once, in order, recording them in `schema_migrations`.
 * An advisory lock keeps concurrent processes from applying the same one twice.
 */
export async function migrate(pool: pg.Pool, migrations: readonly Migration[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock(424242)');
    await client.query('create table if not exists schema_migrations (id text primary key, applied_at timestamptz not null default now())');
    const done = new Set((await client.query<{ id: string }>('select id from schema_migrations')).rows.map((r) => r.id));
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await client.query('begin');
      try {
        await client.query(m.sql);
        await client.query('insert into schema_migrations (id) values ($1)', [m.id]);
        await client.query('commit');
      } catch (cause) {
        await client.query('rollback');
        throw new NovaError('POSTGRES_MIGRATION_FAILED', `migration ${m.id} failed: ${(cause as Error).message}`, { cause });
      }
    }
  } finally {
    await client.query('select pg_advisory_unlock(424242)').catch(() => undefined);
    client.release();
  }
}
