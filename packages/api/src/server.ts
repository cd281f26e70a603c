import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { BessDataset } from '@bess/core';
import { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { sendDetail, sendJson } from './http-util.js';
import { openApiDocument, SWAGGER_HTML, SWAGGER_INIT, swaggerUiDir } from './openapi.js';
import { ApiKeys, presentedKey } from './ops/auth.js';
import { CorsPolicy } from './ops/cors.js';
import { DEFAULT_KEEP_ALIVE, KeepAlive, type KeepAliveOptions } from './ops/keep-alive.js';
import { silentLogger, type Logger } from './ops/log.js';
import { createServerMetrics, type ServerMetrics } from './ops/metrics.js';
import { ClientLimiter, type RateLimitOptions } from './ops/rate-limit.js';
import { decodePathSegment, loggablePath, parseRequestTarget } from './ops/request-target.js';
import { Sessions } from './ops/sessions.js';
import { handleSession, SESSION_PATH } from './session-routes.js';
import { DEFAULT_WORK_GATE, WorkGate, type WorkGateOptions } from './ops/work-gate.js';
import { FairTurns } from './ops/fair-turns.js';
import { StalledResponses } from './ops/stalled-responses.js';
import { handleRest } from './rest.js';
import { appRouter } from './root.js';
import { serveFile } from './static.js';
import { StreamHub, type StreamEvent } from './stream.js';
import type { Context } from './trpc.js';
import { CallCappedWebSocket, MAX_BATCH_CALLS } from './ws-call-cap.js';
import { WsConnection } from './ws-direct.js';
import { streamEventEncoder } from './ws-encoder.js';

export interface ServerOptions {
  dataset: BessDataset;
  port?: number;
  host?: string;
  /** The built dashboard (apps/web/dist) to serve on the same port; none when absent. */
  webDist?: string | null;
  apiKeys?: ApiKeys;
  cors?: CorsPolicy;
  /** Per-client limits (unset ones take DEFAULT_LIMITS); null turns them all off (benchmarks on loopback). */
  limits?: Partial<RateLimitOptions> | null;
  /** The budget for heavy queries (anomaly scans, forecasts, cell statistics). */
  workGate?: WorkGateOptions;
  /** WebSocket connections the whole server holds at most. */
  maxConnections?: number;
  /** How long a WebSocket may stay open without presenting a valid key (keys on). */
  authTimeoutMs?: number;
  /** At shutdown, how long in-flight requests (exports) get to finish. */
  shutdownGraceMs?: number;
  log?: Logger;
  keepAlive?: KeepAliveOptions;
}

export interface BessServer {
  url: string;
  port: number;
  hub: StreamHub;
  metrics: ServerMetrics;
  /** Open WebSocket connections (for tests and metrics). */
  connections(): number;
  close(): Promise<void>;
}

/** A client whose socket holds more than this unsent is not reading: it is cut off, not buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_CONNECTIONS = 10_000;
const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
/** Methods some route answers; anything else is a 405, whatever the path. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS']);
/** Methods that change state: with a session cookie they must echo its CSRF token. */
const UNSAFE_METHODS = new Set(['POST', 'DELETE']);

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // The dashboard needs its own scripts, inline styles (charts set style attributes) and
  // WebSocket/HTTP back to this origin; nothing else.
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; font-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'",
};

/** One HTTP server on one port: REST, tRPC over HTTP (queries, SSE) and WebSocket, docs and the dashboard. */
export async function createBessServer(options: ServerOptions): Promise<BessServer> {
  const { dataset } = options;
  const log = options.log ?? silentLogger;
  const apiKeys = options.apiKeys ?? new ApiKeys([]);
  const cors = options.cors ?? new CorsPolicy(apiKeys.enabled ? [] : ['*']);
  const metrics = createServerMetrics();
  const limiter = options.limits === null ? undefined : new ClientLimiter(options.limits ?? {});
  const workGate = new WorkGate(options.workGate ?? DEFAULT_WORK_GATE);
  const sessions = new Sessions();
  const turns = new FairTurns();
  const hub = new StreamHub(dataset, {
    onDrop: () => metrics.eventsDropped.inc({ reason: 'slow_client' }),
    onError: (error) => log('error', 'stream reader failed', { error: String(error) }),
  });
  const problemsOf = (kind: 'refused' | 'failed') => () =>
    dataset.health().problems.filter((p) => p.kind === kind).length;
  metrics.ingestProblems.set(problemsOf('refused'), { kind: 'refused' });
  metrics.ingestProblems.set(problemsOf('failed'), { kind: 'failed' });
  metrics.indexDamaged.set(() => dataset.health().damagedBlocks);
  metrics.heavyQueries.set(() => workGate.stats().running, { state: 'running' });
  metrics.heavyQueries.set(() => workGate.stats().queued, { state: 'queued' });
  metrics.ingestRows.set(
    () => dataset.devices().reduce((n, d) => n + d.signals.reduce((m, s) => m + s.quality.accepted, 0), 0),
    { outcome: 'accepted' },
  );
  metrics.ingestRows.set(
    () =>
      dataset
        .devices()
        .reduce((n, d) => n + d.signals.reduce((m, s) => m + (s.quality.linesRead - s.quality.accepted), 0), 0),
    { outcome: 'rejected' },
  );

  const addressOf = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';
  // A key's client id is a digest of the whole key: distinct keys never share a bucket, and the id reveals nothing.
  const clientOf = (req: IncomingMessage, key: string | undefined): string =>
    apiKeys.enabled && key
      ? `key:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`
      : `ip:${addressOf(req)}`;
  const contextFor = (req: IncomingMessage, key: string | undefined): Context => ({
    dataset,
    hub,
    metrics,
    workGate,
    turns,
    ...(limiter ? { limiter } : {}),
    clientId: clientOf(req, key),
  });
  /**
   * Who a request says it is: the key it presents in a header or the query, its browser session
   * (cookie), the key it goes on with (the presented one, else the session's), and the session
   * when the cookie alone signs it in.
   */
  const credentialsOf = (req: IncomingMessage, url: URL) => {
    const presented = presentedKey(req, url);
    const session = sessions.of(req);
    return { session, key: presented ?? session?.key, cookieSession: presented === undefined ? session : undefined };
  };
  /** The key a request goes on with (see credentialsOf). */
  const keyOf = (req: IncomingMessage, url: URL): string | undefined => credentialsOf(req, url).key;
  /** An address that guesses keys is refused, unless the request is from a signed-in browser (its cookie is not a guess). */
  const refusedForGuessing = (req: IncomingMessage, session: unknown): boolean =>
    apiKeys.enabled && !!limiter?.authBlocked(addressOf(req)) && session === undefined;
  /** Whether a request may go on with `key`; counts the failure when not, and throttles an address that guesses wrong keys. */
  const admits = (req: IncomingMessage, key: string | undefined): boolean => {
    if (apiKeys.accepts(key)) return true;
    metrics.authFailures.inc();
    if (key !== undefined) limiter?.authFailed(addressOf(req));
    return false;
  };

  const stalled = new StalledResponses(() => {
    metrics.eventsDropped.inc({ reason: 'client_cut_off' });
    log('warn', 'closing an HTTP client that stopped reading its answer');
  });

  const trpcHttp = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBatchSize: MAX_BATCH_CALLS,
    // handle() has already parsed the target and checked the key.
    createContext: ({ req }) => contextFor(req, keyOf(req, parseRequestTarget(req.url)!)),
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID().slice(0, 8);
    const started = performance.now();
    res.setHeader('X-Request-Id', requestId);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.on('finish', () => {
      const ms = performance.now() - started;
      metrics.httpRequests.inc({ status: `${Math.floor(res.statusCode / 100)}xx` });
      log('debug', 'request', {
        requestId,
        method: req.method,
        path: loggablePath(req.url),
        status: res.statusCode,
        ms: Number(ms.toFixed(2)),
      });
    });
    const url = parseRequestTarget(req.url);
    if (!url) return sendDetail(res, 400, 'the request-target is not a valid URL path');
    if (decodePathSegment(url.pathname) === null) return sendDetail(res, 400, 'malformed percent-encoding in the path');
    if (!METHODS.has(req.method ?? '')) {
      res.setHeader('Allow', [...METHODS].join(', '));
      return sendDetail(res, 405, 'Method Not Allowed');
    }
    if (cors.apply(req, res)) return;
    const path = url.pathname;
    if (path === '/health') return sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
    if (path === '/ready') return sendReadiness(res, dataset);
    if (path === '/docs' || path === '/docs/') return sendHtml(res, SWAGGER_HTML);
    if (path === '/docs/init.js') return sendScript(res, SWAGGER_INIT);
    if (path.startsWith('/docs/') && serveFile(res, swaggerUiDir, path.slice(5), 3600)) return;
    if (path === '/openapi.json') return sendJson(res, 200, openApiDocument());
    if (path === SESSION_PATH)
      return handleSession(req, res, {
        apiKeys,
        sessions,
        admits,
        blocked: (r) => !!limiter?.authBlocked(addressOf(r)),
      });
    // `/` is the prototype's API info for clients, and the dashboard (public, like its assets) for browsers.
    if (
      path === '/' &&
      options.webDist &&
      (req.headers.accept ?? '').includes('text/html') &&
      serveFile(res, options.webDist, '/index.html')
    )
      return;

    const isApi = path === '/' || path === '/metrics' || path.startsWith('/trpc/') || /^\/(bms|pcs)(\/|$)/.test(path);
    const { session, key, cookieSession } = credentialsOf(req, url);
    if (isApi && refusedForGuessing(req, session)) {
      metrics.rateLimited.inc({ kind: 'auth' });
      res.setHeader('Retry-After', '60');
      return sendDetail(res, 429, 'too many failed key attempts from this address; retry in a minute');
    }
    if (isApi && !admits(req, key)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendDetail(res, 401, 'an API key is required (Authorization: Bearer <key>, X-API-Key, or ?api_key=)');
    }
    // A state-changing request signed in by the cookie alone must carry the session's CSRF token.
    if (isApi && cookieSession && UNSAFE_METHODS.has(req.method ?? '') && !sessions.csrfMatches(req, cookieSession)) {
      return sendDetail(res, 403, 'missing or wrong X-CSRF-Token');
    }
    // Requests a client has open at once (streams are capped as subscriptions instead).
    const isStream = path.endsWith('/stream') || (req.headers.accept ?? '').includes('text/event-stream');
    if (isApi && limiter && !isStream) {
      const release = limiter.openRequest(clientOf(req, key));
      if (!release) {
        metrics.rateLimited.inc({ kind: 'in_flight' });
        return sendDetail(res, 429, 'too many requests in flight for this client; read the answers first');
      }
      res.once('close', release);
      stalled.watch(res);
    }
    // A stream opened with the session cookie ends when the session does (sign-out).
    if (isApi && isStream && cookieSession)
      res.once(
        'close',
        sessions.attach(cookieSession.id, () => res.destroy()),
      );
    if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(metrics.registry.render());
      return;
    }
    if (path.startsWith('/trpc/')) return trpcHttp(req, res);
    const ctx = contextFor(req, key);
    if (/^\/(bms|pcs)(\/|$)/.test(path) || path === '/') {
      if (limiter && !limiter.allowQuery(ctx.clientId)) {
        metrics.rateLimited.inc({ kind: 'rest' });
        return sendDetail(res, 429, 'rate limit exceeded; slow down');
      }
      try {
        await turns.turn(ctx.clientId);
      } catch {
        metrics.rateLimited.inc({ kind: 'turns' });
        return sendDetail(res, 429, 'too many requests waiting for this client; wait for the answers');
      }
      if (await handleRest(req, res, url, ctx)) return;
    }
    if (
      options.webDist &&
      (serveFile(res, options.webDist, path, path.startsWith('/assets/') ? 31_536_000 : 0) ||
        serveSpa(req, res, options.webDist, path))
    )
      return;
    sendDetail(res, 404, 'Not Found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log('error', 'request failed', { path: loggablePath(req.url), error: String((error as Error)?.stack ?? error) });
      if (!res.headersSent) sendDetail(res, 500, 'internal error');
      else res.destroy();
    });
  });

  // Events of a stream as they are handed to a subscriber's socket, by tRPC or directly.
  const streamEventSent = (event: StreamEvent): void => metrics.streamSendLateness.observe(event.secondsLate());
  // No permessage-deflate (ws's default, stated): streams write prebuilt frames (ws-direct.ts), and
  // compressing each event for each subscriber would cost more CPU than the bytes it saves here.
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
  server.on('upgrade', (req, socket, head) => {
    // Nothing here may throw: an exception in an upgrade listener would end the process.
    socket.on('error', () => socket.destroy());
    try {
      const url = parseRequestTarget(req.url);
      if (!url) return refuseUpgrade(socket, '400 Bad Request');
      if (url.pathname !== '/trpc' && url.pathname !== '/trpc/') return refuseUpgrade(socket, '404 Not Found');
      const origin = req.headers.origin;
      // The dashboard's own page opens its WebSocket from this origin; other origins must be allowed by CORS.
      if (origin && !isSameOrigin(req, origin) && !cors.allows(origin)) return refuseUpgrade(socket, '403 Forbidden');
      const { session, key, cookieSession } = credentialsOf(req, url);
      if (refusedForGuessing(req, session)) {
        metrics.rateLimited.inc({ kind: 'auth' });
        return refuseUpgrade(socket, '429 Too Many Requests');
      }
      if (wss.clients.size >= maxConnections) {
        metrics.rateLimited.inc({ kind: 'connection' });
        return refuseUpgrade(socket, '503 Service Unavailable');
      }
      const release = limiter ? limiter.openConnection(addressOf(req)) : () => {};
      if (!release) {
        metrics.rateLimited.inc({ kind: 'connection' });
        return refuseUpgrade(socket, '429 Too Many Requests');
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.once('close', release);
        connectionOf.set(ws, new WsConnection(ws, socket, streamEventSent));
        // A key in the URL, headers or session cookie is checked now; one sent as connection params, with the first message.
        if (apiKeys.accepts(key)) authenticated.add(ws);
        else if (key !== undefined) {
          admits(req, key);
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
    experimental_encoder: streamEventEncoder(streamEventSent),
    // Keep-alive is ours (ops/keep-alive.ts): spread over time, protocol pings.
    createContext: ({ req, res, info }) => {
      // tRPC types `res` from its own view of `ws`, which this workspace resolves to nothing.
      const socket = res as unknown as WebSocket;
      const url = parseRequestTarget(req.url);
      const fromParams = info.connectionParams?.apiKey;
      const key = (url && keyOf(req, url)) ?? (typeof fromParams === 'string' ? fromParams : undefined);
      if (!admits(req, key)) {
        socket.close(4401, 'invalid API key');
        throw new TRPCError({
          code: 'UNAUTHORIZED',
          message: 'an API key is required (connection params apiKey, or ?api_key=)',
        });
      }
      authenticated.add(socket);
      const connection = connectionOf.get(socket);
      return { ...contextFor(req, key), ...(connection ? { connection } : {}) };
    },
  });
  const slowClients = setInterval(() => {
    stalled.sweep();
    for (const ws of wss.clients) {
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        metrics.eventsDropped.inc({ reason: 'client_cut_off' });
        log('warn', 'closing a WebSocket client that stopped reading', { bufferedBytes: ws.bufferedAmount });
        ws.terminate();
      }
    }
  }, 2000);
  slowClients.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8002, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    hub,
    metrics,
    connections: () => wss.clients.size,
    close() {
      closing ??= (async () => {
        clearInterval(slowClients);
        keepAlive.close();
        wsHandler.broadcastReconnectNotification();
        hub.close();
        for (const ws of wss.clients) ws.close(1001, 'server shutting down');
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // In-flight requests (a CSV export) get the grace period to finish; idle keep-alive sockets go now.
          setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS).unref();
          server.closeIdleConnections();
        });
        for (const ws of wss.clients) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      })();
      return closing;
    },
  };
}

/**
 * Ready while every index could be written and read. A file refused for not being a regular file
 * is listed but does not make the server unready (nothing else is affected by it); a failed index
 * does, since the readings it holds are missing or stale.
 */
function sendReadiness(res: ServerResponse, dataset: BessDataset): void {
  const { problems, damagedBlocks } = dataset.health();
  const failed = problems.filter((p) => p.kind === 'failed');
  // Public, like /health: which files, not the error text (it names the server's folders; the log has it).
  const listed = problems.slice(0, 20).map(({ deviceId, signal, kind }) => ({ deviceId, signal, kind }));
  sendJson(res, failed.length > 0 ? 503 : 200, {
    ready: failed.length === 0,
    devices: dataset.devices().length,
    failedFiles: failed.length,
    refusedFiles: problems.length - failed.length,
    damagedBlocks,
    problems: listed,
  });
}

function isSameOrigin(req: IncomingMessage, origin: string): boolean {
  const host = req.headers.host;
  return !!host && (origin === `http://${host}` || origin === `https://${host}`);
}

function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(html);
}

function sendScript(res: ServerResponse, js: string): void {
  res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  res.end(js);
}

/** Client-side routes of the dashboard get its index.html. */
function serveSpa(req: IncomingMessage, res: ServerResponse, webDist: string, path: string): boolean {
  if (path.includes('.') || !(req.headers.accept ?? '').includes('text/html')) return false;
  return serveFile(res, webDist, '/index.html');
}
