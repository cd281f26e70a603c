import type { EarlyQuery } from './lib/early';
import { fetchFirstData } from './lib/first-data';
import { followZone, parseRoute } from './lib/route';
import { fetchSession } from './lib/session';
import './styles.css';

/**
 * The page's entry, kept small (no tRPC client, React Query or React DOM): it asks for the
 * session and the opening view's data at once, then loads the dashboard, which finds the
 * answers waiting.
 */

// A shared link's zone is in place before the first time is drawn.
followZone(window.location.hash);
const session = fetchSession();
const early: EarlyQuery[] = [];
let seed: (query: EarlyQuery) => void = (query) => early.push(query);
fetchFirstData(parseRoute(window.location.hash), (query) => seed(query));
void import('./dashboard').then(({ mountDashboard }) => {
  const dashboard = mountDashboard(session);
  for (const query of early) dashboard.seed(query);
  early.length = 0;
  seed = dashboard.seed;
});
