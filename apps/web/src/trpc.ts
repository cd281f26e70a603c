import type { AppRouter } from '@bess/api';
import { createWSClient, httpBatchStreamLink, splitLink, wsLink } from '@trpc/client';
import { createTRPCReact } from '@trpc/react-query';
import { useSyncExternalStore } from 'react';

export const trpc = createTRPCReact<AppRouter>();

export type Connection = 'connecting' | 'open' | 'closed';
let connection: Connection = 'connecting';
const listeners = new Set<() => void>();
function setConnection(next: Connection): void {
  connection = next;
  for (const l of listeners) l();
}

/** WebSocket connection state for the header badge (tRPC reconnects by itself). */
export function useConnection(): Connection {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => connection,
  );
}

/** Calls one HTTP request batches at most (the server refuses larger batches: MAX_BATCH_CALLS). */
const MAX_BATCH_ITEMS = 16;

/**
 * Streamed batches: each answer of a batch arrives when it is ready, so a heavy scan (anomalies)
 * does not hold back the light queries sent with it.
 */
const httpLink = (csrfToken?: string) =>
  httpBatchStreamLink({
    url: '/trpc',
    maxItems: MAX_BATCH_ITEMS,
    ...(csrfToken ? { headers: { 'X-CSRF-Token': csrfToken } } : {}),
  });

export function createClient(csrfToken?: string) {
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/trpc`;
  const wsClient = createWSClient({
    url: wsUrl,
    onOpen: () => setConnection('open'),
    onClose: () => setConnection('closed'),
    retryDelayMs: (attempt) => Math.min(500 * 2 ** attempt, 5000),
  });
  return trpc.createClient({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient }),
        false: httpLink(csrfToken),
      }),
    ],
  });
}
