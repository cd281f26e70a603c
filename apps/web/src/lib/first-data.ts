import { createTRPCQueryUtils } from '@trpc/react-query';
import type { QueryClient } from '@tanstack/react-query';
import { createQueryOnlyClient } from '../trpc';
import { historyInputs, linkedExtras, liveTailInput, openingRange } from './opening';
import type { Route } from './route';

/**
 * Asks for what the opening view draws first as the page loads, alongside the session request,
 * rather than after React has drawn the page around it. The views' own queries then find it in
 * the cache. A signed-out browser's requests are refused, which the sign-in page replaces.
 */
export function fetchFirstData(queryClient: QueryClient, route: Route): void {
  if (route.page !== 'device') return;
  const utils = createTRPCQueryUtils({ queryClient, client: createQueryOnlyClient() });
  const { deviceId, tab } = route;
  const summary = utils.devices.summary.fetch({ deviceId });
  if (tab === 'live') {
    void utils.bms.batch.prefetch(liveTailInput(deviceId));
    void utils.pcs.batch.prefetch(liveTailInput(deviceId));
  }
  if (tab === 'history') {
    const ask = (catalogue: readonly { signal: string }[], first: string | null, last: string | null) => {
      const range = openingRange(first, last, route.range);
      const inputs = historyInputs(deviceId, linkedExtras(route.signals ?? [], catalogue), range);
      void utils.history.series.prefetch(inputs.series);
      void utils.analytics.anomalies.prefetch(inputs.anomalies);
    };
    // A link's range needs nothing more; the opening day and a link's added signals need the summary.
    if (route.range && !route.signals) ask([], null, null);
    else
      summary.then(
        (d) => ask(d.signals, d.first, d.last),
        () => undefined,
      );
  }
  summary.catch(() => undefined);
}
