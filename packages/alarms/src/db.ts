import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** What the alarm store needs of PostgreSQL: the same for PGlite in-process and for a server. */
export interface SqlDatabase {
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `work` in one transaction: all of it commits, or none. */
  transaction<R>(work: (tx: SqlRunner) => Promise<R>): Promise<R>;
  close(): Promise<void>;
  /** `pglite` or `postgres`, for logs and /ready. */
  readonly engine: 'pglite' | 'postgres';
}

export interface SqlRunner {
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** PostgreSQL in WebAssembly, stored in `dir` (created if missing); `memory://` for tests. */
export async function openPglite(dir: string): Promise<SqlDatabase> {
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  // PGlite runs one statement at a time; transactions are serialised here so none interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const inTurn = <R>(work: () => Promise<R>): Promise<R> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    engine: 'pglite',
    query: <T>(sql: string, params: unknown[] = []) => inTurn(async () => (await db.query<T>(sql, params)).rows),
    transaction: <R>(work: (tx: SqlRunner) => Promise<R>) =>
      inTurn(() =>
        db.transaction((tx) =>
          work({ query: async <T>(sql: string, params: unknown[] = []) => (await tx.query<T>(sql, params)).rows }),
        ),
      ),
    close: () => db.close(),
  };
}

/** A PostgreSQL server through node-postgres' pool. */
export async function openPostgres(url: string): Promise<SqlDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its server is reported here, not as an uncaught error.
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  return {
    engine: 'postgres',
    query: async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[],
    async transaction<R>(work: (tx: SqlRunner) => Promise<R>): Promise<R> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as T[],
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
