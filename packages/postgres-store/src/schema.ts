import type pg from 'pg';
import type { Sql } from './sql.js';

/**
 * The historian's tables. Every one is keyed by cabinet first (`device_id`), so the same schema
 * can be distributed by cabinet (Citus' `create_distributed_table(..., 'device_id')`).
 *
 * - `bess_signals`: one row per signal file: what the files store's index meta says of it (rows,
 *   first and last time, period, staleness, coverage segments, quality) for its retained readings.
 *   `seq` rises with every change, so an API replica reads only what changed since it last
 *   looked; `generation` rises when the signal's pages were rewritten rather than appended to;
 *   `retained_from_page` counts the first pages whose readings retention dropped.
 * - `bess_settings`: `raw_retained_from`, the time before which readings are no longer kept.
 * - `bess_pages`: the readings, 256 to a row in the files index's page layout (its row codec,
 *   6 bytes a reading for most signals, times relative to the page's first), partitioned by
 *   month of the page's first time.
 * - `bess_rollups`: per 4,096 readings (a block), each of its pages' rollup (first and last
 *   time, min, max, sum, count) as little-endian float64s, 48 bytes a page: what plans every
 *   query and what history reads for whole pages. Apart from the readings, so a signal's
 *   rollups are a few small rows, read without parsing.
 */
const SCHEMA_VERSION = 1;

const DDL = `
CREATE SEQUENCE IF NOT EXISTS bess_change_seq;
CREATE TABLE IF NOT EXISTS bess_signals (
  device_id text NOT NULL,
  signal text NOT NULL,
  generation bigint NOT NULL,
  seq bigint NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  rows bigint NOT NULL,
  first_ms float8,
  last_ms float8,
  median_period_ms float8,
  stale_after_ms float8,
  segments float8[] NOT NULL,
  gaps integer NOT NULL,
  quality jsonb NOT NULL,
  PRIMARY KEY (device_id, signal)
);
CREATE INDEX IF NOT EXISTS bess_signals_seq ON bess_signals (seq);
ALTER TABLE bess_signals ADD COLUMN IF NOT EXISTS retained_from_page integer NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS bess_settings (name text PRIMARY KEY, value float8 NOT NULL);
CREATE TABLE IF NOT EXISTS bess_pages (
  device_id text NOT NULL,
  signal text NOT NULL,
  t_first float8 NOT NULL,
  n smallint NOT NULL,
  format smallint NOT NULL,
  scale smallint NOT NULL,
  readings bytea NOT NULL,
  PRIMARY KEY (device_id, signal, t_first)
) PARTITION BY RANGE (t_first);
CREATE TABLE IF NOT EXISTS bess_rollups (
  device_id text NOT NULL,
  signal text NOT NULL,
  t_first float8 NOT NULL,
  block_no integer NOT NULL,
  rollup bytea NOT NULL,
  PRIMARY KEY (device_id, signal, t_first)
);
CREATE TABLE IF NOT EXISTS bess_schema (version integer NOT NULL);
`;

/** Creates the schema where it is missing; concurrent callers (an ingest and replicas starting together) take turns. */
export async function migrate(sql: Sql): Promise<void> {
  await sql.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(7305001)');
    await client.query(DDL);
    const found = await client.query<{ version: number }>('SELECT version FROM bess_schema');
    if (found.rows.length === 0) await client.query('INSERT INTO bess_schema VALUES ($1)', [SCHEMA_VERSION]);
    else if (found.rows[0]!.version > SCHEMA_VERSION)
      throw new Error(
        `the database holds schema ${found.rows[0]!.version}, newer than this server's ${SCHEMA_VERSION}`,
      );
  });
}

/**
 * Whether the schema is there for a reader (an API replica, perhaps on a read-only standby, which
 * cannot create it): the ingest role creates it. Refuses a newer schema than this code knows.
 */
export async function schemaReady(sql: Sql): Promise<boolean> {
  const [table] = await sql.query<{ name: string | null }>("SELECT to_regclass('bess_schema')::text AS name");
  if (table?.name == null) return false;
  const found = await sql.query<{ version: number }>('SELECT version FROM bess_schema LIMIT 1');
  const version = found[0]?.version ?? null;
  if (version !== null && version > SCHEMA_VERSION)
    throw new Error(`the database holds schema ${version}, newer than this server's ${SCHEMA_VERSION}`);
  return version !== null;
}

const MONTH_NAME = /^bess_pages_\d{4}_\d{2}$/;

/**
 * Creates the month partitions that readings in [first, last] need, inside the writer's
 * transaction. `known` holds the partitions this writer has seen exist: they are not asked for
 * again (DDL on an existing partition would lock out its readers).
 */
export async function ensurePartitions(
  client: pg.PoolClient,
  first: number,
  last: number,
  known: Set<string>,
): Promise<void> {
  const start = new Date(first);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth();
  for (let from = Date.UTC(year, month, 1); from <= last; from = Date.UTC(year, month, 1)) {
    const to = Date.UTC(year, month + 1, 1);
    const name = `bess_pages_${String(year).padStart(4, '0')}_${String(month + 1).padStart(2, '0')}`;
    if (!MONTH_NAME.test(name)) throw new Error(`no partition can hold a reading at ${new Date(from).toISOString()}`);
    if (!known.has(name)) {
      const found = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [name]);
      if (found.rows[0]?.oid == null) {
        await client.query(`CREATE TABLE ${name} PARTITION OF bess_pages FOR VALUES FROM (${from}) TO (${to})`);
      }
      known.add(name);
    }
    month++;
    if (month === 12) {
      month = 0;
      year++;
    }
  }
}
