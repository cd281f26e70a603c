import type { AppRouter } from '@bess/api';
import type { inferRouterOutputs } from '@trpc/server';
import { earlyQuery, type EarlyQuery } from './early';
import { historyInputs, linkedExtras, liveTailInput, openingRange } from './opening';
import type { Route } from './route';

/**
 * Asks for what the opening view draws first as the page loads, alongside the session request,
 * rather than after React has drawn the page around it. The dashboard puts the answers in its
 * query cache (`mountDashboard`'s `seed`), where the views' own queries find them. `onQuery` hears of each
 * query as it leaves: History's range needs the summary's answer first.
 */
export function fetchFirstData(route: Route, onQuery: (query: EarlyQuery) => void): void {
  if (route.page !== 'device') return;
  const { deviceId, tab } = route;
  const summary = earlyQuery('devices.summary', { deviceId });
  onQuery(summary);
  if (tab === 'live') {
    onQuery(earlyQuery('bms.batch', liveTailInput(deviceId)));
    onQuery(earlyQuery('pcs.batch', liveTailInput(deviceId)));
  }
  if (tab === 'history') {
    const ask = (catalogue: readonly { signal: string }[], first: string | null, last: string | null) => {
      const range = openingRange(first, last, route.range);
      const inputs = historyInputs(deviceId, linkedExtras(route.signals ?? [], catalogue), range);
      onQuery(earlyQuery('history.series', inputs.series));
      onQuery(earlyQuery('analytics.anomalies', inputs.anomalies));
    };
    // A link's range needs nothing more; the opening day and a link's added signals need the summary.
    if (route.range && !route.signals) ask([], null, null);
    else
      summary.answer.then(
        (d) => {
          const s = d as inferRouterOutputs<AppRouter>['devices']['summary'];
          ask(s.signals, s.first, s.last);
        },
        () => undefined,
      );
  }
}
