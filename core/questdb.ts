import pg from 'pg';
import { Sender } from '@questdb/nodejs-client';
import type { Config } from './config.ts';
import { NovaError } from './errors.ts';
import { questdbPassword } from './questdb-secret.ts';

/** Connection string of QuestDB's PostgreSQL wire endpoint, with the configured login (QUESTDB_PG_USER; password: core/questdb-secret.ts). Never log it. */
export function questdbPgUrl(config: Config): string {
  const { pgUser, host, pgPort } = config.questdb;
  return `postgres://${encodeURIComponent(pgUser)}:${encodeURIComponent(questdbPassword(config))}@${host}:${pgPort}/qdb`;
}

/** Full name of a QuestDB table under the configured prefix. */
export function questdbTable(config: Config, name: string): string {
  return `${config.questdb.tablePrefix}${name}`;
}

/** Reads and DDL against QuestDB over PG wire; writes go through ILP (`createIlpSender`). */
export class QuestDbClient {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle pooled connection that the server drops must not crash the process.
    this.pool.on('error', () => undefined);
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      const result = await this.pool.query<T>(sql, params);
      return result.rows;
    } catch (cause) {
      const msg = (cause as Error).message;
      const unreachable = /ECONNREFUSED|ECONNRESET|timeout/i.test(msg);
      throw new NovaError(unreachable ? 'QUESTDB_UNREACHABLE' : 'QUESTDB_QUERY_FAILED',
        unreachable ? `cannot reach QuestDB (${msg}); is the stack up? run: ./novacron stack up` : `QuestDB query failed: ${msg}`,
        { retriable: unreachable, cause, details: { sql } });
    }
  }

  /**
   * WAL tables apply committed rows asynchronously; resolves once everything committed to
   * `table` is visible to queries (or throws after `timeoutMs`).
   */
  async waitForWalApplied(table: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.query<{ writerTxn: string; sequencerTxn: string; suspended: boolean }>(
        'select writerTxn, sequencerTxn, suspended from wal_tables() where name = $1', [table]);
      const row = rows[0];
      if (row?.suspended) throw new NovaError('QUESTDB_TABLE_SUSPENDED', `WAL table ${table} is suspended; see the QuestDB log`);
      if (!row || BigInt(row.writerTxn) >= BigInt(row.sequencerTxn)) return;
      if (Date.now() > deadline) throw new NovaError('QUESTDB_WAL_LAG', `rows committed to ${table} were not applied within ${timeoutMs} ms`, { retriable: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * An ILP-over-HTTP sender with auto-flush off: the caller flushes once per batch and only
 * then commits upstream, so a 2xx from QuestDB is the point a batch is durable (WAL).
 */
export async function createIlpSender(config: Config): Promise<Sender> {
  return Sender.fromConfig(`http::addr=${config.questdb.host}:${config.questdb.httpPort};auto_flush=off;retry_timeout=10000`);
}
