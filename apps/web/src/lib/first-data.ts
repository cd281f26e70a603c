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
  const info = earlyQuery('devices.info', { deviceId });
  onQuery(info);
  if (tab === 'live') {
    onQuery(earlyQuery('bms.batch', liveTailInput(deviceId)));
    onQuery(earlyQuery('pcs.batch', liveTailInput(deviceId)));
  }
  if (tab === 'history' || tab === 'quality') {
    const summary = earlyQuery('devices.summary', { deviceId });
    onQuery(summary);
    if (tab === 'quality') return;
    const ask = (catalogue: readonly { signal: string }[], first: string | null, last: string | null) => {
      const range = openingRange(first, last, route.range);
      const inputs = historyInputs(deviceId, linkedExtras(route.signals ?? [], catalogue), range);
      onQuery(earlyQuery('history.series', inputs.series));
      onQuery(earlyQuery('analytics.anomalies', inputs.anomalies));
    };
    type Outputs = inferRouterOutputs<AppRouter>['devices'];
    // A link's range needs nothing more; the opening day needs the span, a link's added signals the catalogue.
    if (route.range && !route.signals) ask([], null, null);
    else if (!route.signals)
      info.answer.then(
        (d) => ask([], (d as Outputs['info']).first, (d as Outputs['info']).last),
        () => undefined,
      );
    else
      summary.answer.then(
        (d) => {
          const s = d as Outputs['summary'];
          ask(s.signals, s.first, s.last);
        },
        () => undefined,
      );
  }
}
