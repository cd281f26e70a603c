import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { getQueryKey } from '@trpc/react-query';
import { StrictMode, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { SignIn } from './components/SignIn';
import type { EarlyQuery } from './lib/early';
import type { SessionState } from './lib/session';
import { createClient, trpc, useConnection } from './trpc';

/**
 * Draws the dashboard once the session is known. `seed` takes a query the page sent as it loaded
 * (main.tsx) into the cache, as in flight: a view asking the same waits for that answer.
 */
export function mountDashboard(session: Promise<SessionState>): { seed: (query: EarlyQuery) => void } {
  // An answer younger than staleTime is not asked for again when a view mounts: what the page
  // asked for as it loaded is drawn, not fetched twice.
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } },
  });
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <Root queryClient={queryClient} session={session} />
    </StrictMode>,
  );
  return {
    seed: ({ path, input, answer }) => {
      const procedure = path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], trpc);
      const queryKey = getQueryKey(procedure as Parameters<typeof getQueryKey>[0], input as never, 'query');
      // No retry: the same promise would only fail again; a view asking later runs its own query.
      void queryClient.prefetchQuery({ queryKey, queryFn: () => answer, retry: false });
    },
  };
}

function Root({ queryClient, session: pending }: { queryClient: QueryClient; session: Promise<SessionState> }) {
  const [session, setSession] = useState<SessionState | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    pending.then(setSession, (e: Error) => setFailure(e.message));
  }, [pending]);
  if (failure)
    return (
      <div className="state error" role="alert">
        The server cannot be reached: {failure}
      </div>
    );
  if (!session) return null;
  // After signing in, a fresh page: every query and the WebSocket then carry the new cookie.
  if (!session.signedIn) return <SignIn onSignedIn={() => location.reload()} />;
  return <Dashboard queryClient={queryClient} session={session} />;
}

function Dashboard({ queryClient, session }: { queryClient: QueryClient; session: SessionState }) {
  const [trpcClient] = useState(() => createClient(session.csrfToken));
  return (
    <trpc.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <RefetchOnReconnect queryClient={queryClient} />
        <App session={session} />
      </QueryClientProvider>
    </trpc.Provider>
  );
}

/**
 * When the server's socket opens again after a loss, every query is read afresh (errors included).
 * A component of its own: the connection's state changing draws nothing else again.
 */
function RefetchOnReconnect({ queryClient }: { queryClient: QueryClient }): null {
  const connection = useConnection();
  const lost = useRef(false);
  useEffect(() => {
    if (connection === 'closed') lost.current = true;
    if (connection === 'open' && lost.current) {
      lost.current = false;
      void queryClient.invalidateQueries();
    }
  }, [connection, queryClient]);
  return null;
}
