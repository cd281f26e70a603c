import { cellSnapshot, cellStats } from '@bess/core';
import { z } from 'zod';
import { deviceId, time } from '../schemas.js';
import { publicProcedure, router } from '../trpc.js';

export const cellsRouter = router({
  /** All 260 cell voltages and temperatures as of a time. */
  snapshot: publicProcedure.input(z.object({ deviceId, at: time })).query(({ ctx, input }) => cellSnapshot(ctx.dataset, input.deviceId, input.at)),
  /** Per-cell statistics, weakest/hottest rankings and the spread over time for a range. */
  stats: publicProcedure
    .input(z.object({ deviceId, from: time, to: time, maxPoints: z.number().int().min(10).max(2000).default(300) }).refine((v) => v.from <= v.to, { message: 'from must not be after to', path: ['from'] }))
    .query(({ ctx, input }) => cellStats(ctx.dataset, input.deviceId, input.from, input.to, { maxPoints: input.maxPoints })),
});
