import { energyThroughput, isoTime, type RecordKind } from '@bess/core';
import { deviceInput } from '../schemas.js';
import { deviceInfo, deviceSummary } from '../service.js';
import { publicProcedure, router, type Context } from '../trpc.js';

/**
 * The newest complete record: the grid runs on while slow signals (SOH, hourly) are still
 * fresh after the fast ones stopped, so the very last record can be nearly empty. Take the
 * last of the recent records that carries as many fields as any of them.
 */
async function latestRecord<K extends RecordKind>(ctx: Context, deviceId: string, kind: K) {
  const total = (await ctx.dataset.page(deviceId, kind, { skip: 0, limit: 1 })).total;
  if (total === 0) return null;
  const recent = (await ctx.dataset.page(deviceId, kind, { skip: Math.max(0, total - 200), limit: 200 })).records;
  const filled = (r: (typeof recent)[number]) => Object.values(r).filter((v) => v !== null).length;
  const most = Math.max(...recent.map(filled));
  return recent.findLast((r) => filled(r) === most) ?? null;
}

const DAY_MS = 86_400_000;

export const devicesRouter = router({
  list: publicProcedure.query(({ ctx }) => ctx.dataset.devices().map((d) => deviceInfo(ctx.dataset, d.id, ctx.sites))),
  /** One cabinet's entry of `list`: its span, without the signal catalogue `summary` carries. */
  info: publicProcedure
    .input(deviceInput)
    .query(({ ctx, input }) => deviceInfo(ctx.dataset, input.deviceId, ctx.sites)),
  summary: publicProcedure
    .input(deviceInput)
    .query(({ ctx, input }) => deviceSummary(ctx.dataset, input.deviceId, ctx.sites)),
  /**
   * The fleet at a glance: each cabinet's latest BMS and PCS record, when it was last heard from,
   * and the energy through its pack over the 24 h up to its newest reading.
   */
  overview: publicProcedure.query(({ ctx }) =>
    Promise.all(
      ctx.dataset.devices().map(async (d) => {
        const energy = d.last === null ? null : await energyThroughput(ctx.dataset, d.id, d.last - DAY_MS, d.last);
        return {
          id: d.id,
          last: d.last === null ? null : isoTime(d.last),
          hasCells: d.hasCells,
          bms: d.hasBms ? await latestRecord(ctx, d.id, 'bms') : null,
          pcs: d.hasPcs ? await latestRecord(ctx, d.id, 'pcs') : null,
          energy24h: energy && {
            chargedKwh: energy.chargedKwh,
            dischargedKwh: energy.dischargedKwh,
            coverage: energy.coverage,
          },
        };
      }),
    ),
  ),
});
