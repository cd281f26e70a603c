import {
  ANOMALY_KINDS,
  detectAnomalies,
  DeviceAlertFeed,
  forecastSignal,
  remainingUsefulLife,
  type AnomalyEvent,
} from '@bess/core';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { deviceId, signalName, streamInput, time } from '../schemas.js';
import { heavyProcedure, publicProcedure, router, toTRPCError } from '../trpc.js';
import { openStream } from '../streaming/index.js';

/** Detection over a range is a scan: keep the last few results so paging through them is cheap. */
const cache = new Map<string, Promise<AnomalyEvent[]>>();
const CACHE_ENTRIES = 32;

const anomaliesInput = z.object({
  deviceId,
  from: time.optional(),
  to: time.optional(),
  kinds: z.array(z.enum(ANOMALY_KINDS)).max(ANOMALY_KINDS.length).optional(),
  severity: z.enum(['warning', 'critical']).optional().describe('Only events at least this severe'),
  cursor: z.number().int().min(0).optional().describe('Position to continue from (nextCursor of the previous page)'),
  limit: z.number().int().min(1).max(500).default(100),
});

export const analyticsRouter = router({
  /** Anomaly events of a device over a range, oldest first, paged by cursor. */
  anomalies: heavyProcedure.input(anomaliesInput).query(async ({ ctx, input }) => {
    const info = ctx.dataset.device(input.deviceId);
    const key = JSON.stringify([input.deviceId, input.from, input.to, input.kinds, info.last]);
    let pending = cache.get(key);
    if (!pending) {
      pending = detectAnomalies(ctx.dataset, input.deviceId, {
        ...(input.from !== undefined ? { from: input.from } : {}),
        ...(input.to !== undefined ? { to: input.to } : {}),
        ...(input.kinds ? { kinds: input.kinds } : {}),
      });
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(key, pending);
      pending.catch(() => cache.delete(key));
    }
    const all = (await pending).filter(
      (e) => !input.severity || e.severity === 'critical' || input.severity === 'warning',
    );
    const start = input.cursor ?? 0;
    const items = all.slice(start, start + input.limit);
    return { items, total: all.length, nextCursor: start + items.length < all.length ? start + items.length : null };
  }),
  /** 1–24 h ahead with an 80 % interval, from the daily cycle. */
  forecast: heavyProcedure
    .input(z.object({ deviceId, signal: signalName, horizonHours: z.number().min(1).max(24).default(24) }))
    .query(({ ctx, input }) => forecastSignal(ctx.dataset, input.deviceId, input.signal, input.horizonHours)),
  /** SOH trend and remaining useful life to end of life (80 % SOH). */
  rul: heavyProcedure
    .input(z.object({ deviceId }))
    .query(({ ctx, input }) => remainingUsefulLife(ctx.dataset, input.deviceId)),
  /**
   * Alerts as a stream advances (replay or live): each condition when it starts or turns critical.
   * The device's BMS stream (PCS without BMS) drives it, paced, resumed and tracked by record time like
   * `bms.stream`; each record brings the raw readings of every watched signal up to its time, fed to
   * the one detector the batch scan runs, in time order, so live and batch agree. Before the first
   * record the feed reads three days of history (what the checks learn) and reports what is still open.
   */
  alerts: publicProcedure.input(streamInput).subscription(async function* ({ ctx, input, signal }) {
    let feed: DeviceAlertFeed;
    let opened: ReturnType<typeof openStream>;
    try {
      // The feed picks the driving stream (BMS, or PCS on a device without BMS); the records only keep time.
      feed = new DeviceAlertFeed(ctx.dataset, input.deviceId);
      opened = openStream(ctx, feed.driver, input);
    } catch (error) {
      throw toTRPCError(error);
    }
    const { subscription, close } = opened;
    try {
      for (let event = await subscription.next(signal); event; event = await subscription.next(signal)) {
        for (const update of await feed.push(event.record))
          if (update.status !== 'closed') yield tracked(event.id, update.event);
      }
    } catch (error) {
      throw toTRPCError(error);
    } finally {
      close();
    }
  }),
});
