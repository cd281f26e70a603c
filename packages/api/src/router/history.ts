import { describeSignal } from '@bess/core';
import { seriesInput } from '../schemas.js';
import { publicProcedure, router } from '../trpc.js';

export const historyRouter = router({
  /** At most `maxPoints` min/max/mean buckets per signal over any range: spikes stay visible, payloads stay small. */
  series: publicProcedure.input(seriesInput).query(async ({ ctx, input }) => {
    ctx.dataset.device(input.deviceId);
    const series = await Promise.all(
      input.signals.map((signal) =>
        ctx.dataset.downsample(input.deviceId, signal, input.from, input.to, input.maxPoints),
      ),
    );
    return {
      deviceId: input.deviceId,
      from: input.from,
      to: input.to,
      series: series.map((s) => ({ ...s, unit: describeSignal(s.signal).unit, label: describeSignal(s.signal).label })),
    };
  }),
});
