import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { ClientLimiter, DEFAULT_LIMITS, type RateLimitOptions } from './ops/rate-limit.js';
import { handleRest } from './rest.js';
import { appRouter } from './root.js';
import { serveFile } from './static.js';
import { StreamHub, type StreamEvent } from './stream.js';
import type { Context } from './trpc.js';
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
  /** Per-client limits; null turns them off (benchmarks on loopback). */
  limits?: RateLimitOptions | null;
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
  const limiter = options.limits === null ? undefined : new ClientLimiter(options.limits ?? DEFAULT_LIMITS);
  const hub = new StreamHub(dataset, {
    onDrop: () => metrics.eventsDropped.inc({ reason: 'slow_client' }),
    onError: (error) => log('error', 'stream reader failed', { error: String(error) }),
  });
  metrics.ingestRows.set(() => dataset.devices().reduce((n, d) => n + d.signals.reduce((m, s) => m + s.quality.accepted, 0), 0), { outcome: 'accepted' });
  metrics.ingestRows.set(
    () => dataset.devices().reduce((n, d) => n + d.signals.reduce((m, s) => m + (s.quality.linesRead - s.quality.accepted), 0), 0),
    { outcome: 'rejected' },
  );

  const clientOf = (req: IncomingMessage, key: string | undefined): string =>
    apiKeys.enabled && key ? `key:${key.slice(0, 4)}…${key.length}` : `ip:${req.socket.remoteAddress ?? 'unknown'}`;
  const contextFor = (req: IncomingMessage, key: string | undefined): Context => ({
    dataset,
    hub,
    metrics,
    ...(limiter ? { limiter } : {}),
    clientId: clientOf(req, key),
  });

  const trpcHttp = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: ({ req }) => contextFor(req, presentedKey(req, new URL(req.url ?? '/', 'http://local'))),
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const requestId = randomUUID().slice(0, 8);
    const started = performance.now();
    res.setHeader('X-Request-Id', requestId);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.on('finish', () => {
      const ms = performance.now() - started;
      metrics.httpRequests.inc({ status: `${Math.floor(res.statusCode / 100)}xx` });
      log('debug', 'request', { requestId, method: req.method, path: url.pathname, status: res.statusCode, ms: Number(ms.toFixed(2)) });
    });
    if (cors.apply(req, res)) return;
    const path = url.pathname;
    if (path === '/health') return sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
    if (path === '/ready') return sendJson(res, 200, { ready: true, devices: dataset.devices().length });
    if (path === '/docs' || path === '/docs/') return sendHtml(res, SWAGGER_HTML);
    if (path === '/docs/init.js') return sendScript(res, SWAGGER_INIT);
    if (path.startsWith('/docs/') && serveFile(res, swaggerUiDir, path.slice(5), 3600)) return;
    if (path === '/openapi.json') return sendJson(res, 200, openApiDocument());

    const isApi = path === '/' || path === '/metrics' || path.startsWith('/trpc/') || /^\/(bms|pcs)(\/|$)/.test(path);
    const key = presentedKey(req, url);
    if (isApi && !apiKeys.accepts(key)) {
      metrics.authFailures.inc();
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendDetail(res, 401, 'an API key is required (Authorization: Bearer <key>, X-API-Key, or ?api_key=)');
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(metrics.registry.render());
      return;
    }
    if (path.startsWith('/trpc/')) return trpcHttp(req, res);
    // `/` is the prototype's API info for clients, and the dashboard for browsers.
    if (path === '/' && options.webDist && (req.headers.accept ?? '').includes('text/html') && serveFile(res, options.webDist, '/index.html')) return;
    const ctx = contextFor(req, key);
    if (/^\/(bms|pcs)(\/|$)/.test(path) || path === '/') {
      if (limiter && !limiter.allowQuery(ctx.clientId)) {
        metrics.rateLimited.inc({ kind: 'rest' });
        return sendDetail(res, 429, 'rate limit exceeded; slow down');
      }
      if (await handleRest(req, res, url, ctx)) return;
    }
    if (options.webDist && (serveFile(res, options.webDist, path, path.startsWith('/assets/') ? 31_536_000 : 0) || serveSpa(req, res, options.webDist, path))) return;
    sendDetail(res, 404, 'Not Found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log('error', 'request failed', { path: req.url, error: String((error as Error)?.stack ?? error) });
      if (!res.headersSent) sendDetail(res, 500, 'internal error');
      else res.destroy();
    });
  });

  // Events of a stream as they are handed to a subscriber's socket, by tRPC or directly.
  const streamEventSent = (event: StreamEvent): void => metrics.streamSendLateness.observe(event.secondsLate());
  // No permessage-deflate (ws's default, stated): streams write prebuilt frames (ws-direct.ts), and
  // compressing each event for each subscriber would cost more CPU than the bytes it saves here.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, perMessageDeflate: false });
  /** Each WebSocket's connection object, made at the upgrade, when its raw socket is at hand. */
  const connectionOf = new WeakMap<WebSocket, WsConnection>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== '/trpc' && url.pathname !== '/trpc/') {
      socket.destroy();
      return;
    }
    const origin = req.headers.origin;
    if (origin && !cors.allows(origin)) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      connectionOf.set(ws, new WsConnection(ws, socket, streamEventSent));
      wss.emit('connection', ws, req);
    });
  });
  const keepAlive = new KeepAlive(options.keepAlive ?? DEFAULT_KEEP_ALIVE, () => log('info', 'closing a WebSocket client that stopped answering pings'));
  wss.on('connection', (ws) => {
    keepAlive.watch(ws);
    metrics.connections.inc({ transport: 'websocket' });
    ws.once('close', () => metrics.connections.dec({ transport: 'websocket' }));
  });
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    // Stream events are serialised once per broadcast, not once per subscriber.
    experimental_encoder: streamEventEncoder(streamEventSent),
    // Keep-alive is ours (ops/keep-alive.ts): spread over time, protocol pings.
    createContext: ({ req, res, info }) => {
      const url = new URL(req.url ?? '/', 'http://local');
      const fromParams = info.connectionParams?.apiKey;
      const key = presentedKey(req, url) ?? (typeof fromParams === 'string' ? fromParams : undefined);
      if (!apiKeys.accepts(key)) {
        metrics.authFailures.inc();
        throw new TRPCError({ code: 'UNAUTHORIZED', message: 'an API key is required (connection params apiKey, or ?api_key=)' });
      }
      const connection = connectionOf.get(res);
      return { ...contextFor(req, key), ...(connection ? { connection } : {}) };
    },
  });
  const slowClients = setInterval(() => {
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
          // Give in-flight requests a moment, then drop idle keep-alive sockets.
          setTimeout(() => server.closeAllConnections(), 2000).unref();
          server.closeIdleConnections();
        });
        for (const ws of wss.clients) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      })();
      return closing;
    },
  };
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
