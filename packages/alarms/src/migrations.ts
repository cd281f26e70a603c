import type { SqlDatabase } from './db.js';

/**
 * The alarm schema, one step per version; a step never changes once released, a change is a new
 * step. Times are epoch milliseconds as double precision: both drivers return them as numbers.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE alarms (
     id text PRIMARY KEY,
     device_id text NOT NULL,
     kind text NOT NULL,
     -- device, kind and signals: one episode of one condition at a time
     condition_key text NOT NULL,
     signals text[] NOT NULL,
     severity text NOT NULL,
     highest_severity text NOT NULL,
     status text NOT NULL CHECK (status IN ('active', 'cleared')),
     opened_at double precision NOT NULL,
     cleared_at double precision,
     last_seen_at double precision NOT NULL,
     historical boolean NOT NULL,
     message text NOT NULL,
     observed double precision,
     threshold jsonb,
     occurrences integer NOT NULL DEFAULT 1,
     acknowledged boolean NOT NULL DEFAULT false,
     acknowledged_by text,
     acknowledged_at double precision,
     ack_comment text,
     shelved_until double precision,
     shelved_by text,
     updated_at double precision NOT NULL
   );
   CREATE UNIQUE INDEX alarms_one_active ON alarms (condition_key) WHERE status = 'active';
   CREATE INDEX alarms_newest ON alarms (opened_at DESC, id DESC);
   CREATE INDEX alarms_device ON alarms (device_id, opened_at DESC);
   CREATE TABLE alarm_comments (
     id text PRIMARY KEY,
     alarm_id text NOT NULL REFERENCES alarms (id),
     author text NOT NULL,
     body text NOT NULL,
     at double precision NOT NULL
   );
   CREATE INDEX alarm_comments_alarm ON alarm_comments (alarm_id, at);
   CREATE TABLE alarm_checkpoints (
     device_id text PRIMARY KEY,
     through_ms double precision NOT NULL
   );
   CREATE TABLE notify_outbox (
     id text PRIMARY KEY,
     idempotency_key text NOT NULL UNIQUE,
     channel text NOT NULL,
     alarm_id text NOT NULL REFERENCES alarms (id),
     trigger text NOT NULL,
     payload jsonb NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
     attempts integer NOT NULL DEFAULT 0,
     next_attempt_at double precision NOT NULL,
     last_error text,
     created_at double precision NOT NULL,
     sent_at double precision
   );
   CREATE INDEX notify_outbox_due ON notify_outbox (next_attempt_at) WHERE status = 'pending';
   CREATE TABLE notify_deliveries (
     outbox_id text NOT NULL REFERENCES notify_outbox (id),
     attempt integer NOT NULL,
     at double precision NOT NULL,
     ok boolean NOT NULL,
     detail text NOT NULL,
     PRIMARY KEY (outbox_id, attempt)
   );`,
  // Notification channels and rules set through the API (admin): they replace BESS_NOTIFY_CONFIG's.
  `CREATE TABLE notify_settings (
     id integer PRIMARY KEY CHECK (id = 1),
     config jsonb NOT NULL,
     updated_by text NOT NULL,
     updated_at double precision NOT NULL
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema to SCHEMA_VERSION; safe to run from several processes at once (an advisory lock). */
export async function migrate(db: SqlDatabase): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7406)');
    await tx.query(
      'CREATE TABLE IF NOT EXISTS bess_migrations (version integer PRIMARY KEY, applied_at double precision NOT NULL)',
    );
    const rows = await tx.query<{ v: number | null }>('SELECT max(version) AS v FROM bess_migrations');
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION)
      throw new Error(`the alarm database is at schema ${current}, newer than this server (${SCHEMA_VERSION})`);
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      for (const statement of splitStatements(MIGRATIONS[v - 1]!)) await tx.query(statement);
      await tx.query('INSERT INTO bess_migrations (version, applied_at) VALUES ($1, $2)', [v, Date.now()]);
    }
    return SCHEMA_VERSION;
  });
}

/** One migration's statements (no semicolons inside them), for drivers that take one statement per call. */
function splitStatements(sql: string): string[] {
  return sql
    .split(';')
    .map((s) => s.replace(/--[^\n]*/g, '').trim())
    .filter(Boolean);
}
