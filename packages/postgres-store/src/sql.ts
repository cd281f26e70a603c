import { BessError } from '@bess/core';
import pg from 'pg';

/** SQLSTATE classes and codes that mean the server cannot be used right now, not that the query is wrong. */
const UNAVAILABLE_CLASSES = ['08', '53', '57'];

/** Whether `error` says PostgreSQL is unreachable or going away (a retry later can succeed). */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.length === 5) return UNAVAILABLE_CLASSES.includes(code.slice(0, 2));
  // Socket-level failures from node-postgres carry errno codes or no code at all.
  return (
    typeof code === 'string' ||
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      error.message,
    )
  );
}

/** The store's answer while its database is away: 503, and the caller retries. */
export class StoreUnavailableError extends BessError {
  constructor(override readonly cause: unknown) {
    super('SERVICE_UNAVAILABLE', 'the PostgreSQL store cannot be reached; retry shortly');
    this.name = 'StoreUnavailableError';
  }
}

/** A connection pool whose outages surface as StoreUnavailableError. */
export class Sql {
  readonly pool: pg.Pool;

  constructor(url: string, max = 8) {
    this.pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 3_000 });
    // An idle client that loses its server is reported here, not as an uncaught error.
    this.pool.on('error', () => undefined);
  }

  async query<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query<T>(text, params)).rows;
    } catch (error) {
      throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
    }
  }

  /** Runs `work` on one client in one transaction: all of it commits, or none. */
  async transaction<R>(work: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
