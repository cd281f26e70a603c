import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { StrictMode, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { SignIn } from './components/SignIn';
import type { SessionState } from './lib/session';
import { createClient, trpc, useConnection } from './trpc';

/** Draws the dashboard once the session is known, over the query cache the page's first requests fill. */
export function mountDashboard(queryClient: QueryClient, session: Promise<SessionState>): void {
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <Root queryClient={queryClient} session={session} />
    </StrictMode>,
  );
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
