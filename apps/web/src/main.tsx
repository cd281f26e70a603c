import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { SignIn } from './components/SignIn';
import { followZone } from './lib/route';
import { fetchSession, type SessionState } from './lib/session';
import { createClient, trpc, useConnection } from './trpc';
import './styles.css';

function Root() {
  const [session, setSession] = useState<SessionState | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    fetchSession().then(setSession, (e: Error) => setFailure(e.message));
  }, []);
  if (failure)
    return (
      <div className="state error" role="alert">
        The server cannot be reached: {failure}
      </div>
    );
  if (!session) return null;
  // After signing in, a fresh page: every query and the WebSocket then carry the new cookie.
  if (!session.signedIn) return <SignIn onSignedIn={() => location.reload()} />;
  return <Dashboard session={session} />;
}

function Dashboard({ session }: { session: SessionState }) {
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } }),
  );
  const [trpcClient] = useState(() => createClient(session.csrfToken));
  useRefetchOnReconnect(queryClient);
  return (
    <trpc.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <App session={session} />
      </QueryClientProvider>
    </trpc.Provider>
  );
}

/** When the server's socket opens again after a loss, every query is read afresh (errors included). */
function useRefetchOnReconnect(queryClient: QueryClient): void {
  const connection = useConnection();
  const lost = useRef(false);
  useEffect(() => {
    if (connection === 'closed') lost.current = true;
    if (connection === 'open' && lost.current) {
      lost.current = false;
      void queryClient.invalidateQueries();
    }
  }, [connection, queryClient]);
}

// A shared link's zone is in place before the first time is drawn.
followZone(window.location.hash);
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
