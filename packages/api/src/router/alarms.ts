// Named so the emitted .d.ts can refer to tRPC's internal types (TS2742) rather than a node_modules path.
import type {} from '@trpc/server/unstable-core-do-not-import';
import {
  ALARM_ID,
  loadSavedConfig,
  notifyConfigSchema,
  keepSecrets,
  redacted,
  saveConfig,
  type AlarmChange,
} from '@bess/alarms';
import { ANOMALY_KINDS } from '@bess/core';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { deviceId, time } from '../schemas.js';
import { publicProcedure, roleProcedure, router, type AlarmServices, type Context } from '../trpc.js';

/** Changes a subscriber has not read yet; past this it loses the oldest (a console refetches the list anyway). */
const CHANGE_BACKLOG = 1000;

const alarmId = z.string().regex(ALARM_ID, 'not an alarm id').describe('Alarm id');
/** Free text for the alarm log: no NUL (PostgreSQL text cannot hold it), at most 2,000 characters. */
const note = z
  .string()
  .max(2000)
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const YEAR_MS = 366 * 86_400_000;
const severity = z.enum(['info', 'warning', 'critical']);

export const alarmListInput = z.object({
  status: z.enum(['active', 'cleared']).optional(),
  acknowledged: z.boolean().optional(),
  historical: z.boolean().optional(),
  severity: severity.optional().describe('At least this severity'),
  kind: z.enum(ANOMALY_KINDS).optional(),
  deviceId: deviceId.optional(),
  from: time.optional().describe('Opened at or after (ISO time or epoch ms)'),
  to: time.optional().describe('Opened before'),
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
  limit: z.number().int().min(1).max(200).default(50),
});

export const acknowledgeInput = z.object({ id: alarmId, comment: note.default('') });
export const commentInput = z.object({ id: alarmId, body: note.pipe(z.string().trim().min(1)) });
export const shelveInput = z.object({
  id: alarmId,
  until: time
    .refine(
      (t) => Number.isInteger(t) && t > Date.now() && t <= Date.now() + YEAR_MS,
      'must be a time within the next year',
    )
    .nullable()
    .describe('Shelved until (within a year); null unshelves'),
});

export function services(ctx: Context): AlarmServices {
  if (!ctx.alarms)
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'alarms are not running on this server (yet)' });
  return ctx.alarms;
}

export const alarmsRouter = router({
  /** Fleet-wide, newest first, with filters and cursor paging. */
  list: publicProcedure.input(alarmListInput).query(({ ctx, input }) => {
    const { cursor, limit, ...filter } = input;
    return services(ctx).store.list(filter, limit, cursor);
  }),
  get: publicProcedure.input(z.object({ id: alarmId })).query(({ ctx, input }) => services(ctx).store.get(input.id)),
  /** Active alarms counted per cabinet and severity (the fleet's status). */
  summary: publicProcedure.query(({ ctx }) => services(ctx).store.activeCounts()),
  acknowledge: roleProcedure('operator')
    .input(acknowledgeInput)
    .mutation(({ ctx, input }) => services(ctx).store.acknowledge(input.id, ctx.identity.name, input.comment)),
  comment: roleProcedure('operator')
    .input(commentInput)
    .mutation(({ ctx, input }) => services(ctx).store.comment(input.id, ctx.identity.name, input.body)),
  /** Silences an alarm's notifications until `until` (null unshelves). */
  shelve: roleProcedure('operator')
    .input(shelveInput)
    .mutation(({ ctx, input }) => services(ctx).store.shelve(input.id, ctx.identity.name, input.until)),
  /** The notification channels and rules in force (webhook secrets redacted), and where they come from. */
  notifications: roleProcedure('admin').query(async ({ ctx }) => {
    const { store, notifier } = services(ctx);
    const saved = await loadSavedConfig(store.db);
    const config = saved?.config ?? notifier?.current ?? { channels: {}, rules: [] };
    return {
      source: saved ? ('api' as const) : ('file' as const),
      updatedBy: saved?.updatedBy ?? null,
      updatedAt: saved?.updatedAt ?? null,
      config: redacted(config),
    };
  }),
  /** Replaces the channels and rules (kept in the database, so they outlive a restart); a redacted secret keeps the old one. */
  setNotifications: roleProcedure('admin')
    .input(notifyConfigSchema)
    .mutation(async ({ ctx, input }) => {
      const { store, notifier } = services(ctx);
      if (!notifier) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'notifications are not running' });
      const config = keepSecrets(input, notifier.current);
      const saved = await saveConfig(store.db, config, ctx.identity.name);
      notifier.reconfigure(config);
      return { ...saved, config: redacted(saved.config) };
    }),
  /** Every change to an alarm as it happens (optionally one cabinet's). */
  changes: publicProcedure
    .input(z.object({ deviceId: deviceId.optional() }).default({}))
    .subscription(async function* ({ ctx, input, signal }) {
      const { store } = services(ctx);
      const release = ctx.limiter ? ctx.limiter.openSubscription(ctx.clientId) : () => {};
      if (!release)
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: 'too many concurrent subscriptions for this client',
        });
      const queue: AlarmChange[] = [];
      let wake: (() => void) | null = null;
      const off = store.onChange((change) => {
        if (input.deviceId && change.alarm.deviceId !== input.deviceId) return;
        if (queue.length >= CHANGE_BACKLOG) queue.shift();
        queue.push(change);
        wake?.();
      });
      const onAbort = () => wake?.();
      signal?.addEventListener('abort', onAbort);
      try {
        while (!signal?.aborted) {
          const change = queue.shift();
          if (change) {
            yield change;
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      } finally {
        off();
        release();
        signal?.removeEventListener('abort', onAbort);
      }
    }),
});
