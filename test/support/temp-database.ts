import { randomBytes } from 'node:crypto';
import { createPgPool, dropDatabase, ensureDatabase, type PgPool } from '../../core/index.ts';

export interface TempDatabase {
  url: string;
  pool: PgPool;
  /** Closes the pool and drops the database, even with connections left open. */
  drop(): Promise<void>;
}

/** A fresh, uniquely named database on the real PostgreSQL server, for one test file. */
export async function createTempDatabase(server = 'postgres://postgres@127.0.0.1:5432'): Promise<TempDatabase> {
  const url = `${server}/novacron_t_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(url);
  const pool = createPgPool(url);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end().catch(() => undefined);
      await dropDatabase(url);
    },
  };
}
