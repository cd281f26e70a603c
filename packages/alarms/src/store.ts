import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BessError, SEVERITY_RANK, type AlertUpdate, type Severity } from '@bess/core';
import type { SqlDatabase, SqlRunner } from './db.js';
import { migrate } from './migrations.js';
import type { Alarm, AlarmChange, AlarmComment, AlarmFilter } from './types.js';

/** A condition that clears and comes back within this long is the same alarm, one more occurrence. */
const REPEAT_WINDOW_MS = 30 * 60_000;
const MAX_PAGE = 200;
/** Alarm ids are UUIDs; anything else (NUL bytes, long junk) is no alarm, answered without a query. */
export const ALARM_ID = /^[A-Za-z0-9-]{1,64}$/;

export interface AlarmRow {
  id: string;
  device_id: string;
  kind: string;
  signals: string[];
  severity: string;
  highest_severity: string;
  status: string;
  opened_at: number;
  cleared_at: number | null;
  historical: boolean;
  message: string;
  observed: number | null;
  threshold: number | [number, number] | null;
  occurrences: number;
  acknowledged: boolean;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  ack_comment: string | null;
  shelved_until: number | null;
  shelved_by: string | null;
  updated_at: number;
}

/** The alarm with `id` does not exist (NOT_FOUND through the API). */
export class UnknownAlarmError extends BessError {
  constructor(id: string) {
    super('NOT_FOUND', `no alarm ${JSON.stringify(id).slice(0, 80)}`, 'id');
  }
}

export interface Applied {
  alarmId: string | null;
  change: AlarmChange | null;
}

function changed(trigger: AlarmChange['trigger'], row: AlarmRow): Applied {
  return { alarmId: row.id, change: { trigger, alarm: toAlarm(row), actor: 'detector' } };
}

/** One detection applied, in the transaction that also moves the device's checkpoint. */
export interface DetectionContext {
  historical: boolean;
  now: number;
}

/**
 * Alarms with their lifecycle, in PostgreSQL (PGlite embedded, or a server): one row per episode of
 * a condition, acknowledged, commented and shelved by name. Every change is published on `changes`.
 */
export class AlarmStore {
  private readonly emitter = new EventEmitter();

  private constructor(readonly db: SqlDatabase) {
    this.emitter.setMaxListeners(0);
  }

  static async open(db: SqlDatabase): Promise<AlarmStore> {
    await migrate(db);
    return new AlarmStore(db);
  }

  /** Calls `listener` with every change from now on; returns the unsubscribe. */
  onChange(listener: (change: AlarmChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  publish(changes: readonly AlarmChange[]): void {
    for (const change of changes) this.emitter.emit('change', change);
  }

  /**
   * Applies a detector update: opens, continues, escalates, groups a repeat, or clears an alarm.
   * Returns the alarm the update concerned (if any) and the change to publish (none for a continuation).
   */
  async applyDetection(tx: SqlRunner, update: AlertUpdate, context: DetectionContext): Promise<Applied> {
    const e = update.event;
    const key = conditionKey(e.deviceId, e.kind, e.signals);
    const [active] = await tx.query<AlarmRow>(`SELECT * FROM alarms WHERE condition_key = $1 AND status = 'active'`, [
      key,
    ]);
    if (update.status === 'closed') {
      if (!active) return { alarmId: null, change: null };
      const rows = await tx.query<AlarmRow>(
        `UPDATE alarms SET status = 'cleared', cleared_at = $2, updated_at = $3 WHERE id = $1 RETURNING *`,
        [active.id, Math.max(e.end, active.opened_at), context.now],
      );
      return changed('cleared', rows[0]!);
    }
    if (active) {
      const worse = SEVERITY_RANK[e.severity] > SEVERITY_RANK[active.severity as Severity];
      const rows = await tx.query<AlarmRow>(
        `UPDATE alarms SET severity = $2, highest_severity = $3, observed = $4, message = $5, last_seen_at = $6,
           updated_at = $7 WHERE id = $1 RETURNING *`,
        [
          active.id,
          worse ? e.severity : active.severity,
          higher(active.highest_severity as Severity, e.severity),
          e.observed,
          worse ? e.message : active.message,
          e.end,
          context.now,
        ],
      );
      return worse ? changed('escalated', rows[0]!) : { alarmId: active.id, change: null };
    }
    const [recent] = await tx.query<AlarmRow>(
      `SELECT * FROM alarms WHERE condition_key = $1 AND status = 'cleared' AND cleared_at >= $2
        ORDER BY cleared_at DESC LIMIT 1`,
      [key, e.start - REPEAT_WINDOW_MS],
    );
    if (recent) {
      const rows = await tx.query<AlarmRow>(
        `UPDATE alarms SET status = 'active', cleared_at = NULL, severity = $2, highest_severity = $3,
           occurrences = occurrences + 1, observed = $4, message = $5, last_seen_at = $6, updated_at = $7,
           acknowledged = false, acknowledged_by = NULL, acknowledged_at = NULL, ack_comment = NULL
         WHERE id = $1 RETURNING *`,
        [
          recent.id,
          e.severity,
          higher(recent.highest_severity as Severity, e.severity),
          e.observed,
          e.message,
          e.end,
          context.now,
        ],
      );
      return changed('repeated', rows[0]!);
    }
    const rows = await tx.query<AlarmRow>(
      `INSERT INTO alarms (id, device_id, kind, condition_key, signals, severity, highest_severity, status, opened_at,
         last_seen_at, historical, message, observed, threshold, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6, 'active', $7, $8, $9, $10, $11, $12, $13) RETURNING *`,
      [
        randomUUID(),
        e.deviceId,
        e.kind,
        key,
        e.signals,
        e.severity,
        e.start,
        e.end,
        context.historical,
        e.message,
        e.observed,
        JSON.stringify(e.threshold),
        context.now,
      ],
    );
    return changed('opened', rows[0]!);
  }

  /** Clears active alarms of a device that the detector did not confirm after a restart (ended while it was down). */
  async clearUnconfirmed(tx: SqlRunner, ids: readonly string[], at: number, now: number): Promise<AlarmChange[]> {
    if (ids.length === 0) return [];
    const rows = await tx.query<AlarmRow>(
      `UPDATE alarms SET status = 'cleared', cleared_at = GREATEST(opened_at, $2), updated_at = $3
        WHERE id = ANY($1) AND status = 'active' RETURNING *`,
      [ids, at, now],
    );
    return rows.map((r) => ({ trigger: 'cleared', alarm: toAlarm(r), actor: 'detector' }));
  }

  /** The active alarm of a condition, if there is one. */
  async activeOf(tx: SqlRunner, deviceId: string, kind: string, signals: readonly string[]): Promise<string | null> {
    const [row] = await tx.query<{ id: string }>(
      `SELECT id FROM alarms WHERE condition_key = $1 AND status = 'active'`,
      [conditionKey(deviceId, kind, signals)],
    );
    return row?.id ?? null;
  }

  async activeIds(deviceId: string): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM alarms WHERE device_id = $1 AND status = 'active'`,
      [deviceId],
    );
    return rows.map((r) => r.id);
  }

  async checkpoint(deviceId: string): Promise<number | null> {
    const [row] = await this.db.query<{ through_ms: number }>(
      'SELECT through_ms FROM alarm_checkpoints WHERE device_id = $1',
      [deviceId],
    );
    return row?.through_ms ?? null;
  }

  async saveCheckpoint(tx: SqlRunner, deviceId: string, throughMs: number): Promise<void> {
    await tx.query(
      `INSERT INTO alarm_checkpoints (device_id, through_ms) VALUES ($1, $2)
       ON CONFLICT (device_id) DO UPDATE SET through_ms = EXCLUDED.through_ms`,
      [deviceId, throughMs],
    );
  }

  /** Newest first; `cursor` continues after the last item of the previous page. */
  async list(filter: AlarmFilter, limit = 50, cursor?: string): Promise<{ items: Alarm[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.status) add('status = ?', filter.status);
    if (filter.acknowledged !== undefined) add('acknowledged = ?', filter.acknowledged);
    if (filter.historical !== undefined) add('historical = ?', filter.historical);
    if (filter.severity)
      add(
        'severity = ANY(?)',
        (['info', 'warning', 'critical'] as const).filter((s) => SEVERITY_RANK[s] >= SEVERITY_RANK[filter.severity!]),
      );
    if (filter.kind) add('kind = ?', filter.kind);
    if (filter.deviceId) add('device_id = ?', filter.deviceId);
    if (filter.from !== undefined) add('opened_at >= ?', filter.from);
    if (filter.to !== undefined) add('opened_at < ?', filter.to);
    if (cursor) {
      const after = parseCursor(cursor);
      params.push(after.openedAt, after.id);
      where.push(`(opened_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    const size = Math.min(Math.max(1, Math.floor(limit)), MAX_PAGE);
    params.push(size + 1);
    const rows = await this.db.query<AlarmRow>(
      `SELECT * FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY opened_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, size).map(toAlarm);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > size && last ? makeCursor(last) : null };
  }

  /** Counts of active alarms by severity, fleet-wide or for one device. */
  async activeCounts(): Promise<{ deviceId: string; severity: Severity; count: number }[]> {
    const rows = await this.db.query<{ device_id: string; severity: Severity; n: string | number }>(
      `SELECT device_id, severity, count(*) AS n FROM alarms WHERE status = 'active' GROUP BY device_id, severity`,
    );
    return rows.map((r) => ({ deviceId: r.device_id, severity: r.severity, count: Number(r.n) }));
  }

  async get(id: string): Promise<{ alarm: Alarm; comments: AlarmComment[] }> {
    if (!ALARM_ID.test(id)) throw new UnknownAlarmError(id);
    const [row] = await this.db.query<AlarmRow>('SELECT * FROM alarms WHERE id = $1', [id]);
    if (!row) throw new UnknownAlarmError(id);
    const comments = await this.db.query<AlarmComment>(
      'SELECT id, author, body, at FROM alarm_comments WHERE alarm_id = $1 ORDER BY at, id',
      [id],
    );
    return { alarm: toAlarm(row), comments };
  }

  /** The first acknowledgement of an episode stands; a later one only adds its comment to the thread. */
  async acknowledge(id: string, actor: string, comment: string): Promise<AlarmChange> {
    const text = comment.trim();
    return this.change(id, actor, 'acknowledged', async (tx, now) => {
      const rows = await tx.query<AlarmRow>(
        `UPDATE alarms SET acknowledged = true, acknowledged_by = $2, acknowledged_at = $3, ack_comment = $4,
           updated_at = $3 WHERE id = $1 AND NOT acknowledged RETURNING *`,
        [id, actor, now, text],
      );
      const row = rows[0] ?? (await tx.query<AlarmRow>('SELECT * FROM alarms WHERE id = $1', [id]))[0];
      if (row && text) await insertComment(tx, id, actor, text, now);
      return row;
    });
  }

  async comment(id: string, actor: string, body: string): Promise<AlarmChange> {
    return this.change(id, actor, 'commented', async (tx, now) => {
      await insertComment(tx, id, actor, body, now);
      return (await tx.query<AlarmRow>('UPDATE alarms SET updated_at = $2 WHERE id = $1 RETURNING *', [id, now]))[0];
    });
  }

  /** Shelves until `until` (epoch ms): no notifications meanwhile; `null` unshelves. */
  async shelve(id: string, actor: string, until: number | null): Promise<AlarmChange> {
    return this.change(id, actor, 'shelved', async (tx, now) => {
      const rows = await tx.query<AlarmRow>(
        'UPDATE alarms SET shelved_until = $2, shelved_by = $3, updated_at = $4 WHERE id = $1 RETURNING *',
        [id, until, until === null ? null : actor, now],
      );
      return rows[0];
    });
  }

  private async change(
    id: string,
    actor: string,
    trigger: AlarmChange['trigger'],
    work: (tx: SqlRunner, now: number) => Promise<AlarmRow | undefined>,
  ): Promise<AlarmChange> {
    if (!ALARM_ID.test(id)) throw new UnknownAlarmError(id);
    const row = await this.db.transaction((tx) => work(tx, Date.now()));
    if (!row) throw new UnknownAlarmError(id);
    const change: AlarmChange = { trigger, alarm: toAlarm(row), actor };
    this.publish([change]);
    return change;
  }
}

async function insertComment(tx: SqlRunner, alarmId: string, author: string, body: string, at: number): Promise<void> {
  const [exists] = await tx.query<{ id: string }>('SELECT id FROM alarms WHERE id = $1', [alarmId]);
  if (!exists) return;
  await tx.query('INSERT INTO alarm_comments (id, alarm_id, author, body, at) VALUES ($1, $2, $3, $4, $5)', [
    randomUUID(),
    alarmId,
    author,
    body,
    at,
  ]);
}

function conditionKey(deviceId: string, kind: string, signals: readonly string[]): string {
  return JSON.stringify([deviceId, kind, [...signals].sort()]);
}

function higher(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a;
}

export function toAlarm(r: AlarmRow): Alarm {
  return {
    id: r.id,
    deviceId: r.device_id,
    kind: r.kind as Alarm['kind'],
    severity: r.severity as Severity,
    highestSeverity: r.highest_severity as Severity,
    status: r.status as Alarm['status'],
    signals: r.signals,
    openedAt: r.opened_at,
    clearedAt: r.cleared_at,
    historical: r.historical,
    message: r.message,
    observed: r.observed,
    threshold: r.threshold,
    occurrences: r.occurrences,
    acknowledged: r.acknowledged,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: r.acknowledged_at,
    ackComment: r.ack_comment,
    shelvedUntil: r.shelved_until,
    shelvedBy: r.shelved_by,
    updatedAt: r.updated_at,
  };
}

function makeCursor(a: Alarm): string {
  return Buffer.from(JSON.stringify([a.openedAt, a.id])).toString('base64url');
}

function parseCursor(cursor: string): { openedAt: number; id: string } {
  try {
    const [openedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof openedAt === 'number' && Number.isFinite(openedAt) && typeof id === 'string' && ALARM_ID.test(id))
      return { openedAt, id };
  } catch {
    // fall through to the typed error
  }
  throw new BessError('BAD_REQUEST', 'cursor is not one this server gave out', 'cursor');
}
