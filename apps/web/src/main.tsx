import { QueryClient } from '@tanstack/react-query';
import { fetchFirstData } from './lib/first-data';
import { followZone, parseRoute } from './lib/route';
import { fetchSession } from './lib/session';
import './styles.css';

/**
 * The page's entry, kept small: it asks for the session and the opening view's data at once,
 * then loads the dashboard (React DOM, Recharts, the views), which finds the answers waiting.
 */

// A shared link's zone is in place before the first time is drawn.
followZone(window.location.hash);
// An answer younger than staleTime is not asked for again when a view mounts: what the page asked
// for as it loaded is drawn, not fetched twice.
const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } },
});
const session = fetchSession();
fetchFirstData(queryClient, parseRoute(window.location.hash));
void import('./dashboard').then(({ mountDashboard }) => mountDashboard(queryClient, session));
