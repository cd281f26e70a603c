import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BessDataset } from '@bess/core';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { sendDetail } from './http-util.js';
import { ApiKeys } from './ops/auth.js';
import { CorsPolicy } from './ops/cors.js';
import type { KeepAliveOptions } from './ops/keep-alive.js';
import { silentLogger, type Logger } from './ops/log.js';
import { createServerMetrics, type ServerMetrics } from './ops/metrics.js';
import { ClientLimiter, type PeerUsage, type RateLimitOptions } from './ops/rate-limit.js';
import { decodePathSegment, loggablePath, parseRequestTarget } from './ops/request-target.js';
import { ROUTE_LABELS, routeLabel } from './ops/route-label.js';
import { Sessions } from './ops/sessions.js';
import { publicRoutes } from './public-routes.js';
import { createRequestAccess } from './request-access.js';
import { DEFAULT_WORK_GATE, WorkGate, type WorkGateOptions } from './ops/work-gate.js';
import { FairTurns } from './ops/fair-turns.js';
import { StalledResponses } from './ops/stalled-responses.js';
import { handleRest } from './rest.js';
import { handleAiRest } from './rest-ai.js';
import { handleAlarmsRest } from './rest-alarms.js';
import { handleBessRest } from './rest-bess.js';
import { appRouter } from './root.js';
import { serveFile } from './static.js';
import { StreamHub } from './streaming/index.js';
import { NO_SITES, type Sites } from './sites.js';
import type { AlarmServices } from './trpc.js';
import { MAX_BATCH_CALLS } from './ws-call-cap.js';
import { attachWebSockets } from './ws-upgrade.js';

export interface ServerOptions {
  dataset: BessDataset;
  port?: number;
  host?: string;
  /** The built dashboard (apps/web/dist) to serve on the same port; none when absent. */
  webDist?: string | null;
  /** Persisted alarms (store and notifier) the API serves; none: the alarms routes answer PRECONDITION_FAILED. */
  alarms?: AlarmServices;
  /** Write WebSocket stream events as prebuilt frames after the first (default true); false sends all through tRPC. */
  directFrames?: boolean;
  apiKeys?: ApiKeys;
  cors?: CorsPolicy;
  /** Per-client limits (unset ones take DEFAULT_LIMITS); null turns them all off (benchmarks on loopback). */
  limits?: Partial<RateLimitOptions> | null;
  /** The other API replicas' use of the limits, when several share them (cluster/peer-usage.ts). */
  peerUsage?: PeerUsage | null;
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
  /** Each cabinet's site (its time zone), from BESS_SITES; none configured by default. */
  sites?: Sites;
}

export interface BessServer {
  url: string;
  port: number;
  hub: StreamHub;
  metrics: ServerMetrics;
  /** Serves these alarms from now on (they start after the server listens, so a restart answers at once). */
  attachAlarms(services: AlarmServices): void;
  /** Open WebSocket connections (for tests and metrics). */
  connections(): number;
  close(): Promise<void>;
}

const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
const MAX_TRPC_BODY_BYTES = 256 * 1024;
/** Methods some route answers; anything else is a 405, whatever the path. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS']);
/** Methods that change state: with a session cookie they must echo its CSRF token. */
const UNSAFE_METHODS = new Set(['POST', 'DELETE']);
const REST_PATH = /^\/(bms|pcs|bess|alarms|ai)(\/|$)/;

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // The dashboard needs its own scripts, inline styles (charts set style attributes) and
  // WebSocket/HTTP back to this origin; nothing else.
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; font-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'",
};

/**
 * One HTTP server on one port: the public routes (health, docs, sign-in), the API behind keys and
 * limits (REST, tRPC over HTTP and SSE, metrics), the dashboard's files, and WebSocket (ws-upgrade.ts).
 */
export async function createBessServer(options: ServerOptions): Promise<BessServer> {
  const { dataset } = options;
  const log = options.log ?? silentLogger;
  const apiKeys = options.apiKeys ?? new ApiKeys([]);
  const cors = options.cors ?? new CorsPolicy(apiKeys.enabled ? [] : ['*']);
  const metrics = createServerMetrics(latencyRoutes());
  const limiter =
    options.limits === null ? undefined : new ClientLimiter(options.limits ?? {}, undefined, options.peerUsage ?? null);
  const workGate = new WorkGate(options.workGate ?? DEFAULT_WORK_GATE);
  const sessions = new Sessions();
  const turns = new FairTurns();
  const hub = new StreamHub(dataset, {
    onDrop: () => metrics.eventsDropped.inc({ reason: 'slow_client' }),
    onError: (error) => log('error', 'stream reader failed', { error: String(error) }),
  });
  registerGauges(metrics, dataset, workGate);
  let alarms = options.alarms;
  const access = createRequestAccess({
    dataset,
    hub,
    metrics,
    workGate,
    turns,
    apiKeys,
    sessions,
    limiter,
    alarms: () => alarms,
    sites: options.sites ?? NO_SITES,
  });
  const publicRoute = publicRoutes(dataset, {
    apiKeys,
    sessions,
    admits: access.admits,
    blocked: (r) => !!limiter?.authBlocked(access.addressOf(r)),
  });
  const stalled = new StalledResponses(() => {
    metrics.eventsDropped.inc({ reason: 'client_cut_off' });
    log('warn', 'closing an HTTP client that stopped reading its answer');
  });
  const trpcHttp = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBatchSize: MAX_BATCH_CALLS,
    // Mutations are small (an acknowledgement, a rule set); queries come in the URL.
    maxBodySize: MAX_TRPC_BODY_BYTES,
    // handle() has already parsed the target and checked the key.
    createContext: ({ req }) => access.contextFor(req, access.keyOf(req, parseRequestTarget(req.url)!)),
  });

  /** The API's routes, behind keys, CSRF and the per-client limits. */
  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const { session, key, cookieSession } = access.credentialsOf(req, url);
    if (access.refusedForGuessing(req, session)) {
      metrics.rateLimited.inc({ kind: 'auth' });
      res.setHeader('Retry-After', '60');
      return sendDetail(res, 429, 'too many failed key attempts from this address; retry in a minute');
    }
    if (!access.admits(req, key)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendDetail(res, 401, 'an API key is required (Authorization: Bearer <key>, X-API-Key, or ?api_key=)');
    }
    // A state-changing request signed in by the cookie alone must carry the session's CSRF token.
    if (cookieSession && UNSAFE_METHODS.has(req.method ?? '') && !sessions.csrfMatches(req, cookieSession)) {
      return sendDetail(res, 403, 'missing or wrong X-CSRF-Token');
    }
    // Requests a client has open at once (streams are capped as subscriptions instead).
    const isStream =
      req.method === 'GET' && (path.endsWith('/stream') || (req.headers.accept ?? '').includes('text/event-stream'));
    if (limiter && !isStream) {
      const release = limiter.openRequest(access.clientOf(req, key));
      if (!release) {
        metrics.rateLimited.inc({ kind: 'in_flight' });
        return sendDetail(res, 429, 'too many requests in flight for this client; read the answers first');
      }
      res.once('close', release);
      stalled.watch(res);
    }
    // A stream opened with the session cookie ends when the session does (sign-out).
    if (isStream && cookieSession)
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
    const ctx = access.contextFor(req, key);
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
    if (await handleAlarmsRest(req, res, url, ctx)) return;
    if (await handleBessRest(req, res, url, ctx)) return;
    if (await handleAiRest(req, res, url, ctx)) return;
    if (!serveDashboard(req, res, path)) sendDetail(res, 404, 'Not Found');
  }

  /** The dashboard's files, and its index.html for its own client-side routes. */
  function serveDashboard(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const webDist = options.webDist;
    if (!webDist) return false;
    return (
      serveFile(res, webDist, path, path.startsWith('/assets/') ? 31_536_000 : 0) || serveSpa(req, res, webDist, path)
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID().slice(0, 8);
    const started = performance.now();
    res.setHeader('X-Request-Id', requestId);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.on('finish', () => {
      const ms = performance.now() - started;
      const route = routeLabel(parseRequestTarget(req.url)?.pathname ?? '');
      metrics.httpRequests.inc({ route, status: `${Math.floor(res.statusCode / 100)}xx` });
      // tRPC calls are timed per procedure by its middleware; streams last as long as their client stays.
      if (route !== '/trpc' && !route.endsWith('/stream'))
        metrics.queryLatency.observe(ms / 1000, { route: `http:${route}` });
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
    const route = publicRoute(path);
    if (route && (await route(req, res, path)) !== false) return;
    // `/` is the prototype's API info for clients, and the dashboard (public, like its assets) for browsers.
    const wantsHtml = (req.headers.accept ?? '').includes('text/html');
    if (path === '/' && options.webDist && wantsHtml && serveFile(res, options.webDist, '/index.html')) return;
    const isApi = path === '/' || path === '/metrics' || path.startsWith('/trpc/') || REST_PATH.test(path);
    if (isApi) return handleApi(req, res, url);
    if (!serveDashboard(req, res, path)) sendDetail(res, 404, 'Not Found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A client that hangs up mid-request is not the server's error.
      const aborted = req.destroyed || (error as NodeJS.ErrnoException)?.code === 'ECONNRESET';
      log(aborted ? 'debug' : 'error', aborted ? 'client went away' : 'request failed', {
        path: loggablePath(req.url),
        error: String((error as Error)?.stack ?? error),
      });
      if (!res.headersSent) sendDetail(res, 500, 'internal error');
      else res.destroy();
    });
  });
  const webSockets = attachWebSockets(
    server,
    {
      access,
      apiKeys,
      cors,
      sessions,
      limiter,
      metrics,
      hub,
      log,
      streamEventSent: (event) => metrics.streamSendLateness.observe(event.secondsLate()),
    },
    options,
  );
  const stalledSweep = setInterval(() => stalled.sweep(), 2000);
  stalledSweep.unref();

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
    connections: () => webSockets.clients(),
    attachAlarms: (services) => (alarms = services),
    close() {
      closing ??= (async () => {
        clearInterval(stalledSweep);
        webSockets.closeClients();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // In-flight requests (a CSV export) get the grace period to finish; idle keep-alive sockets go now.
          setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS).unref();
          server.closeIdleConnections();
        });
        await webSockets.terminate();
      })();
      return closing;
    },
  };
}

/** Gauges read at scrape time from the dataset and the work gate. */
function registerGauges(metrics: ServerMetrics, dataset: BessDataset, workGate: WorkGate): void {
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
}

/** Client-side routes of the dashboard get its index.html. */
function serveSpa(req: IncomingMessage, res: ServerResponse, webDist: string, path: string): boolean {
  if (path.includes('.') || !(req.headers.accept ?? '').includes('text/html')) return false;
  return serveFile(res, webDist, '/index.html');
}

/** Every label of the latency histogram: REST routes, SSE streams (time to the first event) and tRPC queries. */
function latencyRoutes(): string[] {
  // At run time `procedures` maps each dotted path to its procedure (its type names the nesting).
  const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)
    .filter(([, procedure]) => procedure._def.type !== 'subscription')
    .map(([path]) => `trpc:${path}`);
  const rest = ROUTE_LABELS.filter((r) => r !== '/trpc').map((r) => (r.endsWith('/stream') ? `sse:${r}` : `http:${r}`));
  return [...rest, ...procedures];
}
