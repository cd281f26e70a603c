import { CABINET, cellHistory, cellSnapshot, cellStats } from '@bess/core';
import { z } from 'zod';
import { deviceId, time } from '../schemas.js';
import { heavyProcedure, publicProcedure, router } from '../trpc.js';

export const cellsRouter = router({
  /** One cell over a range next to its pack's median (min/max/mean buckets). */
  history: heavyProcedure
    .input(
      z
        .object({
          deviceId,
          pack: z.number().int().min(1).max(CABINET.packs),
          cell: z.number().int().min(1).max(CABINET.cellsPerPack),
          quantity: z.enum(['voltage', 'temperature']),
          from: time,
          to: time,
          maxPoints: z.number().int().min(10).max(2000).default(400),
        })
        .refine((v) => v.from <= v.to, { message: 'from must not be after to', path: ['from'] }),
    )
    .query(({ ctx, input }) =>
      cellHistory(
        ctx.dataset,
        input.deviceId,
        { pack: input.pack, cell: input.cell, quantity: input.quantity },
        input.from,
        input.to,
        input.maxPoints,
      ),
    ),
  /** All 260 cell voltages and temperatures as of a time. */
  snapshot: publicProcedure
    .input(z.object({ deviceId, at: time }))
    .query(({ ctx, input }) => cellSnapshot(ctx.dataset, input.deviceId, input.at)),
  /** Per-cell statistics, weakest/hottest rankings and the spread over time for a range. */
  stats: heavyProcedure
    .input(
      z
        .object({ deviceId, from: time, to: time, maxPoints: z.number().int().min(10).max(2000).default(300) })
        .refine((v) => v.from <= v.to, { message: 'from must not be after to', path: ['from'] }),
    )
    .query(({ ctx, input }) =>
      cellStats(ctx.dataset, input.deviceId, input.from, input.to, { maxPoints: input.maxPoints }),
    ),
});
