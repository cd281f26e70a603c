import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { TRPCError } from '@trpc/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiKeys } from './ops/auth.js';
import type { CorsPolicy } from './ops/cors.js';
import { DEFAULT_KEEP_ALIVE, KeepAlive, type KeepAliveOptions } from './ops/keep-alive.js';
import type { Logger } from './ops/log.js';
import type { ServerMetrics } from './ops/metrics.js';
import type { ClientLimiter } from './ops/rate-limit.js';
import { loggablePath, parseRequestTarget } from './ops/request-target.js';
import type { Sessions } from './ops/sessions.js';
import type { RequestAccess } from './request-access.js';
import { appRouter } from './root.js';
import { streamEventEncoder, WsConnection, type StreamEvent, type StreamHub } from './streaming/index.js';
import { CallCappedWebSocket } from './ws-call-cap.js';

/** A client whose socket holds more than this unsent is not reading: it is cut off, not buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_CONNECTIONS = 10_000;
const DEFAULT_AUTH_TIMEOUT_MS = 10_000;

export interface WebSocketDeps {
  access: RequestAccess;
  apiKeys: ApiKeys;
  cors: CorsPolicy;
  sessions: Sessions;
  limiter: ClientLimiter | undefined;
  metrics: ServerMetrics;
  hub: StreamHub;
  log: Logger;
  /** Told of every stream event handed to a socket, by tRPC or directly (send-lateness metrics). */
  streamEventSent: (event: StreamEvent) => void;
}

export interface WebSocketOptions {
  directFrames?: boolean;
  maxConnections?: number;
  authTimeoutMs?: number;
  keepAlive?: KeepAliveOptions;
}

export interface WebSocketEndpoint {
  clients(): number;
  /** First half of shutdown: streams end and clients are told (1001) before the HTTP server stops. */
  closeClients(): void;
  /** Second half: whoever is still connected is cut off. */
  terminate(): Promise<void>;
}

/** tRPC over WebSocket at /trpc on `server`: the upgrade's checks, keys, caps, keep-alive and slow readers. */
export function attachWebSockets(server: Server, deps: WebSocketDeps, options: WebSocketOptions): WebSocketEndpoint {
  const { access, apiKeys, cors, sessions, limiter, metrics, hub, log, streamEventSent } = deps;
  // No permessage-deflate (ws's default, stated): streams write prebuilt frames (streaming/ws-direct.ts),
  // and compressing each event for each subscriber would cost more CPU than the bytes it saves here.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    perMessageDeflate: false,
    WebSocket: CallCappedWebSocket,
  });
  /** Each WebSocket's connection object, made at the upgrade, when its raw socket is at hand. */
  const connectionOf = new WeakMap<WebSocket, WsConnection>();
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const authTimeoutMs = options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
  /** Sockets that have presented a valid key (or need none): the others are closed after authTimeoutMs. */
  const authenticated = new WeakSet<WebSocket>();
  const refuseUpgrade = (socket: Duplex, status: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Nothing here may throw: an exception in an upgrade listener would end the process.
    socket.on('error', () => socket.destroy());
    try {
      const url = parseRequestTarget(req.url);
      if (!url) return refuseUpgrade(socket, '400 Bad Request');
      if (url.pathname !== '/trpc' && url.pathname !== '/trpc/') return refuseUpgrade(socket, '404 Not Found');
      const origin = req.headers.origin;
      // The dashboard's own page opens its WebSocket from this origin; other origins must be allowed by CORS.
      if (origin && !isSameOrigin(req, origin) && !cors.allows(origin)) return refuseUpgrade(socket, '403 Forbidden');
      const { session, key, cookieSession } = access.credentialsOf(req, url);
      if (access.refusedForGuessing(req, session)) {
        metrics.rateLimited.inc({ kind: 'auth' });
        return refuseUpgrade(socket, '429 Too Many Requests');
      }
      if (wss.clients.size >= maxConnections) {
        metrics.rateLimited.inc({ kind: 'connection' });
        return refuseUpgrade(socket, '503 Service Unavailable');
      }
      const release = limiter ? limiter.openConnection(access.addressOf(req)) : () => {};
      if (!release) {
        metrics.rateLimited.inc({ kind: 'connection' });
        return refuseUpgrade(socket, '429 Too Many Requests');
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.once('close', release);
        connectionOf.set(ws, new WsConnection(ws, socket, streamEventSent, options.directFrames ?? true));
        // A key in the URL, headers or session cookie is checked now; one sent as connection params, with the first message.
        if (apiKeys.accepts(key)) authenticated.add(ws);
        else if (key !== undefined) {
          access.admits(req, key);
          ws.close(4401, 'invalid API key');
          return;
        }
        // A WebSocket signed in by cookie closes when its session ends (sign-out).
        if (apiKeys.enabled && cookieSession)
          ws.once(
            'close',
            sessions.attach(cookieSession.id, () => ws.close(4401, 'signed out')),
          );
        wss.emit('connection', ws, req);
      });
    } catch (error) {
      log('warn', 'WebSocket upgrade failed', { path: loggablePath(req.url), error: String(error) });
      socket.destroy();
    }
  });
  const keepAlive = new KeepAlive(options.keepAlive ?? DEFAULT_KEEP_ALIVE, () =>
    log('info', 'closing a WebSocket client that stopped answering pings'),
  );
  wss.on('connection', (ws) => {
    keepAlive.watch(ws);
    metrics.connections.inc({ transport: 'websocket' });
    ws.once('close', () => metrics.connections.dec({ transport: 'websocket' }));
    if (!authenticated.has(ws)) {
      const timer = setTimeout(() => {
        if (!authenticated.has(ws)) ws.close(4401, 'no API key presented');
      }, authTimeoutMs);
      timer.unref();
      ws.once('close', () => clearTimeout(timer));
    }
  });
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    // Stream events are serialised once per broadcast, not once per subscriber.
    experimental_encoder: streamEventEncoder(hub.tags, streamEventSent),
    // Keep-alive is ours (ops/keep-alive.ts): spread over time, protocol pings.
    createContext: ({ req, res, info }) => {
      // tRPC types `res` from its own view of `ws`, which this workspace resolves to nothing.
      const socket = res as unknown as WebSocket;
      const url = parseRequestTarget(req.url);
      const fromParams = info.connectionParams?.apiKey;
      const key = (url && access.keyOf(req, url)) ?? (typeof fromParams === 'string' ? fromParams : undefined);
      if (!access.admits(req, key)) {
        socket.close(4401, 'invalid API key');
        throw new TRPCError({
          code: 'UNAUTHORIZED',
          message: 'an API key is required (connection params apiKey, or ?api_key=)',
        });
      }
      authenticated.add(socket);
      const connection = connectionOf.get(socket);
      return { ...access.contextFor(req, key), ...(connection ? { connection } : {}) };
    },
  });
  const slowReaders = setInterval(() => {
    for (const ws of wss.clients) {
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        metrics.eventsDropped.inc({ reason: 'client_cut_off' });
        log('warn', 'closing a WebSocket client that stopped reading', { bufferedBytes: ws.bufferedAmount });
        ws.terminate();
      }
    }
  }, 2000);
  slowReaders.unref();

  return {
    clients: () => wss.clients.size,
    closeClients() {
      clearInterval(slowReaders);
      keepAlive.close();
      wsHandler.broadcastReconnectNotification();
      hub.close();
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    },
    async terminate() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function isSameOrigin(req: IncomingMessage, origin: string): boolean {
  const host = req.headers.host;
  return !!host && (origin === `http://${host}` || origin === `https://${host}`);
}
