import { randomUUID } from 'node:crypto';
import type { SqlDatabase, SqlRunner } from '../db.js';
import { SEVERITY_RANK } from '@bess/core';
import type { Alarm, AlarmChange, AlarmTrigger } from '../types.js';
import { toAlarm, type AlarmRow } from '../store.js';
import { send, type Message } from './channels.js';
import type { Channel, NotifyConfig, NotifyRule } from './config.js';

const DEFAULT_TRIGGERS: readonly AlarmTrigger[] = ['opened', 'escalated', 'repeated', 'cleared'];
const DEFAULT_MAX_ATTEMPTS = 8;
/** A claimed delivery is someone else's for this long: a process that dies mid-send releases it when it runs out. */
const CLAIM_MS = 60_000;
const BATCH = 20;

export interface NotifierOptions {
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** How often due deliveries and reminders are looked for (ms). */
  pollMs?: number;
  /** First retry after this long, doubling each time up to maxRetryMs. */
  retryBaseMs?: number;
  maxRetryMs?: number;
  /** Sends one message (default: the channel's real transport). */
  send?: (channel: Channel, message: Message) => Promise<string>;
}

interface OutboxRow {
  id: string;
  idempotency_key: string;
  channel: string;
  payload: Message;
  attempts: number;
}

/**
 * Notifications through a persisted outbox. A change's deliveries are written in the transaction
 * that made the change (a crash loses none), each with an idempotency key (a replayed change adds
 * none), then sent by a loop that claims due rows, retries with exponential backoff, dead-letters
 * after `maxAttempts` and logs every attempt. Webhook receivers see the key as `X-Bess-Delivery`.
 */
export class Notifier {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly log: NonNullable<NotifierOptions['log']>;

  constructor(
    private readonly db: SqlDatabase,
    private config: NotifyConfig,
    private readonly options: NotifierOptions = {},
  ) {
    this.log = options.log ?? (() => {});
  }

  /** The channels and rules in force. */
  get current(): NotifyConfig {
    return this.config;
  }

  /** Replaces the rules and channels (admin API); deliveries already queued keep their channel's settings by name. */
  reconfigure(config: NotifyConfig): void {
    this.config = config;
  }

  /** Queues the deliveries `change` calls for, in `tx`. `live`: false for alarms found while catching up on history. */
  async enqueue(tx: SqlRunner, change: AlarmChange, live: boolean, now = Date.now()): Promise<number> {
    const a = change.alarm;
    if (!live || a.historical) return 0;
    if (a.shelvedUntil !== null && a.shelvedUntil > now && change.trigger !== 'cleared') return 0;
    let queued = 0;
    for (const [channelName, rule] of this.matching(a, change.trigger)) {
      if (rule.quietMinutes && change.trigger !== 'cleared') {
        const [recent] = await tx.query<{ n: number | string }>(
          `SELECT count(*) AS n FROM notify_outbox WHERE alarm_id = $1 AND channel = $2 AND created_at > $3`,
          [a.id, channelName, now - rule.quietMinutes * 60_000],
        );
        if (Number(recent?.n ?? 0) > 0) continue;
      }
      const key = `${a.id}:${occurrenceOf(change.trigger, a)}:${channelName}`;
      queued += await this.insert(tx, key, channelName, change, now);
    }
    return queued;
  }

  /** Starts sending (and reminding) in the background. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.wake(), this.options.pollMs ?? 500);
    this.timer.unref();
    this.wake();
  }

  /** Looks for due deliveries now (after a change was queued). */
  wake(): void {
    if (this.running || this.closed) return;
    this.running = this.tick()
      .then(() => undefined)
      .catch((error: unknown) => this.log('error', 'notification loop failed', { error: String(error) }))
      .finally(() => (this.running = null));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass: reminders due, then every delivery due; returns how many were attempted. */
  async tick(now = Date.now()): Promise<number> {
    await this.queueReminders(now);
    let attempted = 0;
    for (;;) {
      const rows = await this.claim(Date.now());
      if (rows.length === 0) return attempted;
      // Channels are sent to side by side, each in order: a slow receiver delays only its own messages.
      const byChannel = new Map<string, OutboxRow[]>();
      for (const row of rows) byChannel.set(row.channel, [...(byChannel.get(row.channel) ?? []), row]);
      await Promise.all(
        [...byChannel.values()].map(async (queue) => {
          for (const row of queue) await this.deliver(row);
        }),
      );
      attempted += rows.length;
      if (this.closed) return attempted;
    }
  }

  private *matching(alarm: Alarm, trigger: AlarmTrigger): Generator<[string, NotifyRule]> {
    const seen = new Set<string>();
    for (const rule of this.config.rules) {
      // Reminders follow remindEveryMinutes; the other triggers, the rule's `on` list.
      if (trigger === 'reminder' ? !rule.remindEveryMinutes : !(rule.on ?? DEFAULT_TRIGGERS).includes(trigger))
        continue;
      if (rule.severity && SEVERITY_RANK[alarm.severity] < SEVERITY_RANK[rule.severity]) continue;
      if (rule.devices && !rule.devices.includes(alarm.deviceId)) continue;
      if (rule.kinds && !rule.kinds.includes(alarm.kind)) continue;
      for (const channel of rule.channels) {
        if (seen.has(channel) || !Object.hasOwn(this.config.channels, channel)) continue;
        seen.add(channel);
        yield [channel, rule];
      }
    }
  }

  private async insert(tx: SqlRunner, key: string, channel: string, change: AlarmChange, now: number): Promise<number> {
    const message: Message = { trigger: change.trigger, alarm: change.alarm, deliveryId: key, sentBy: change.actor };
    const rows = await tx.query<{ id: string }>(
      `INSERT INTO notify_outbox (id, idempotency_key, channel, alarm_id, trigger, payload, status, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
      [randomUUID(), key, channel, change.alarm.id, change.trigger, JSON.stringify(message), now],
    );
    return rows.length;
  }

  /** Reminders for active, unacknowledged, unshelved alarms that were first notified at least one interval ago. */
  private async queueReminders(now: number): Promise<void> {
    if (!this.config.rules.some((r) => r.remindEveryMinutes)) return;
    const rows = await this.db.query<AlarmRow & { channel: string; first_sent: number }>(
      `SELECT a.*, o.channel, min(o.created_at) AS first_sent
         FROM alarms a JOIN notify_outbox o ON o.alarm_id = a.id
        WHERE a.status = 'active' AND NOT a.acknowledged AND NOT a.historical
          AND (a.shelved_until IS NULL OR a.shelved_until <= $1)
        GROUP BY a.id, o.channel`,
      [now],
    );
    for (const row of rows) {
      const alarm = toAlarm(row);
      for (const [channel, rule] of this.matching(alarm, 'reminder')) {
        if (channel !== row.channel || !rule.remindEveryMinutes) continue;
        const n = Math.floor((now - row.first_sent) / (rule.remindEveryMinutes * 60_000));
        if (n < 1) continue;
        const change: AlarmChange = { trigger: 'reminder', alarm, actor: 'reminder' };
        const key = `${alarm.id}:reminder-${alarm.occurrences}-${n}:${channel}`;
        await this.db.transaction((tx) => this.insert(tx, key, channel, change, now));
      }
    }
  }

  private async claim(now: number): Promise<OutboxRow[]> {
    return this.db.query<OutboxRow>(
      `UPDATE notify_outbox SET next_attempt_at = $2
        WHERE id IN (SELECT id FROM notify_outbox WHERE status = 'pending' AND next_attempt_at <= $1
                      ORDER BY next_attempt_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
        RETURNING id, idempotency_key, channel, payload, attempts`,
      [now, now + CLAIM_MS],
    );
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const attempt = row.attempts + 1;
    const channel = Object.hasOwn(this.config.channels, row.channel) ? this.config.channels[row.channel] : undefined;
    let ok = false;
    let detail: string;
    try {
      if (!channel) throw new Error(`channel ${row.channel} is no longer configured`);
      detail = await (this.options.send ?? send)(channel, row.payload);
      ok = true;
    } catch (error) {
      detail = error instanceof Error ? error.message : String(error);
    }
    const now = Date.now();
    const maxAttempts = this.config.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    // A channel no longer configured will not come back by retrying.
    const dead = !ok && (attempt >= maxAttempts || !channel);
    const backoff = Math.min(
      (this.options.retryBaseMs ?? 1_000) * 2 ** (attempt - 1),
      this.options.maxRetryMs ?? 300_000,
    );
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE notify_outbox SET attempts = $2, status = $3, sent_at = $4, last_error = $5, next_attempt_at = $6 WHERE id = $1`,
        [
          row.id,
          attempt,
          ok ? 'sent' : dead ? 'dead' : 'pending',
          ok ? now : null,
          ok ? null : detail.slice(0, 500),
          now + backoff,
        ],
      );
      await tx.query(
        'INSERT INTO notify_deliveries (outbox_id, attempt, at, ok, detail) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [row.id, attempt, now, ok, detail.slice(0, 500)],
      );
    });
    const fields = { delivery: row.idempotency_key, channel: row.channel, attempt, detail };
    if (ok) this.log('info', 'notification delivered', fields);
    else
      this.log(
        dead ? 'error' : 'warn',
        dead ? 'notification dead-lettered' : 'notification failed; will retry',
        fields,
      );
  }
}

/** Which occurrence of a trigger a delivery is for: the same change replayed gets the same key. */
function occurrenceOf(trigger: AlarmTrigger, alarm: Alarm): string {
  if (trigger === 'escalated') return `escalated-${alarm.severity}-${alarm.occurrences}`;
  return `${trigger}-${alarm.occurrences}`;
}
