import { deviceInput } from '../schemas.js';
import { deviceSummary } from '../service.js';
import { publicProcedure, router } from '../trpc.js';

export const devicesRouter = router({
  list: publicProcedure.query(({ ctx }) =>
    ctx.dataset.devices().map((d) => {
      const s = deviceSummary(ctx.dataset, d.id);
      return { id: s.id, first: s.first, last: s.last, hasBms: s.hasBms, hasPcs: s.hasPcs, hasCells: s.hasCells, signals: s.signals.length };
    }),
  ),
  summary: publicProcedure.input(deviceInput).query(({ ctx, input }) => deviceSummary(ctx.dataset, input.deviceId)),
});
