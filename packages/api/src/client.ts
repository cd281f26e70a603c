import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  wsLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './root.js';

// The published @bess/client is built from this module (packages/client): its runtime imports
// only @trpc/client, and its types are bundled with everything they name from the server.
export type { AppRouter } from './root.js';
export type { BmsField, BmsRecord, PcsField, PcsRecord } from '@bess/core';
export type { BessRecord } from './prototype-fields.js';
/** Every procedure's input and output, e.g. `BessOutputs['bms']['batch']`. */
export type BessInputs = inferRouterInputs<AppRouter>;
export type BessOutputs = inferRouterOutputs<AppRouter>;

export interface BessClientOptions {
  /** The server, e.g. `http://127.0.0.1:8002`. */
  url: string;
  /** Subscriptions over WebSocket (default) or Server-Sent Events. */
  transport?: 'ws' | 'sse';
  apiKey?: string;
  /** A WebSocket implementation where there is no global one (Node 20: `import WebSocket from 'ws'`). */
  WebSocket?: unknown;
  /** An EventSource implementation for SSE where there is no global one (Node: the `eventsource` package). */
  EventSource?: unknown;
}

/** `api` is the typed tRPC client; `close()` ends its WebSocket. */
export interface BessClient {
  api: TRPCClient<AppRouter>;
  close(): void;
}

/**
 * A typed client of the BESS API: queries over HTTP (batched), subscriptions over
 * WebSocket or SSE. Reconnects resume streams from the last event received.
 */
export function createBessClient(options: BessClientOptions): BessClient {
  const base = options.url.replace(/\/$/, '');
  const headers = options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : undefined;
  let closeSocket = () => {};
  let subscriptions: TRPCLink<AppRouter>;
  if ((options.transport ?? 'ws') === 'ws') {
    const wsClient = createWSClient({
      url: `${base.replace(/^http/, 'ws')}/trpc`,
      ...(options.WebSocket ? { WebSocket: options.WebSocket as typeof WebSocket } : {}),
      ...(options.apiKey ? { connectionParams: { apiKey: options.apiKey } } : {}),
    });
    closeSocket = () => void wsClient.close();
    subscriptions = wsLink<AppRouter>({ client: wsClient });
  } else {
    subscriptions = httpSubscriptionLink<AppRouter, typeof EventSource>({
      url: `${base}/trpc`,
      ...(options.EventSource ? { EventSource: options.EventSource as typeof EventSource } : {}),
      ...(options.apiKey ? { connectionParams: { apiKey: options.apiKey } } : {}),
    });
  }
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: subscriptions,
        // The server refuses batches of more than 16 calls (MAX_BATCH_CALLS in ws-call-cap.ts).
        false: httpBatchLink({ url: `${base}/trpc`, maxItems: 16, ...(headers ? { headers } : {}) }),
      }),
    ],
  });
  // Kept apart from the client: tRPC's client is a proxy that reads every property as a procedure path.
  return { api: client, close: closeSocket };
}
