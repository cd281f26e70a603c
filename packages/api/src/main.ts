import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNotifyConfig } from '@bess/alarms';
import { startAlarms } from './alarm-services.js';
import { clusterConfig, openStores } from './cluster/roles.js';
import { ApiKeys } from './ops/auth.js';
import { CorsPolicy } from './ops/cors.js';
import { jsonLogger, type Level } from './ops/log.js';
import { DEFAULT_LIMITS, type RateLimitOptions } from './ops/rate-limit.js';
import { createBessServer } from './server.js';
import { loadSites } from './sites.js';
import { trpcPatchApplied } from './streaming/index.js';

/** `pnpm start`: the API, the WebSocket endpoint and the dashboard on one port. */
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const log = jsonLogger((process.env.BESS_LOG as Level | undefined) ?? 'info');
const dataDir = resolve(process.env.DATA_DIR ?? resolve(repo, 'data'));
const port = Number(process.env.PORT ?? 8002);
const host = process.env.HOST ?? '127.0.0.1';
const webDist = resolve(repo, 'apps/web/dist');

const apiKeys = ApiKeys.fromEnv();
/** Per-client limits, each from its own variable; 0 turns one off (load tests from one address). */
const limitFromEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`);
  return value;
};
const rate = limitFromEnv('BESS_RATE_LIMIT', DEFAULT_LIMITS.ratePerSecond);
const limits: Partial<RateLimitOptions> = {
  ratePerSecond: rate,
  burst: rate * 4,
  maxSubscriptions: limitFromEnv('BESS_MAX_SUBSCRIPTIONS', DEFAULT_LIMITS.maxSubscriptions),
  maxConnections: limitFromEnv('BESS_MAX_CONNECTIONS_PER_CLIENT', DEFAULT_LIMITS.maxConnections),
  authFailuresPerMinute: limitFromEnv('BESS_AUTH_FAILURES_PER_MINUTE', DEFAULT_LIMITS.authFailuresPerMinute),
  maxRequestsInFlight: limitFromEnv('BESS_MAX_REQUESTS_IN_FLIGHT', DEFAULT_LIMITS.maxRequestsInFlight),
};
const cors = CorsPolicy.fromEnv(process.env, apiKeys.enabled);
// A bad notification file stops the start, naming the field that is wrong.
const notifyConfig = loadNotifyConfig(process.env.BESS_NOTIFY_CONFIG);
const sites = loadSites(process.env.BESS_SITES);
if (!apiKeys.enabled)
  log('warn', 'no API keys configured (BESS_API_KEYS): the API is open to anyone who can reach it', { host });

const cluster = clusterConfig(process.env);
const started = performance.now();
const levels = new Set<string>(['debug', 'info', 'warn', 'error']);
const stores = await openStores(cluster, dataDir, log, {
  // The engine's events say their level when it is not info (a refused file, a failed index).
  log: ({ level, ...event }) =>
    log(typeof level === 'string' && levels.has(level) ? (level as Level) : 'info', 'ingest', event),
});
const described = stores.served ?? stores.files!;
const rows = described.devices().reduce((n, d) => n + d.signals.reduce((m, s) => m + s.rows, 0), 0);
log('info', 'dataset ready', {
  role: cluster.role,
  store: cluster.store,
  bus: cluster.redisUrl ? 'redis' : 'none',
  dataDir: cluster.role === 'api' ? undefined : dataDir,
  devices: described.devices().length,
  rows,
  ms: Math.round(performance.now() - started),
});

// Alarms start once the server answers (opening their database takes seconds on PGlite), and
// keep trying while their database cannot be reached; meanwhile their routes answer 503. The
// detector runs where the data is ingested; an API replica opens the store for its routes only.
let alarms: Awaited<ReturnType<typeof startAlarms>> | null = null;
const alarmsWanted = process.env.BESS_ALARMS !== '0';
let stopping = false;
async function runAlarms(onStarted: (a: NonNullable<typeof alarms>) => void): Promise<void> {
  while (alarmsWanted && !stopping && !alarms) {
    try {
      alarms = await startAlarms(stores.files ?? described, dataDir, notifyConfig, log, {
        watch: cluster.role !== 'api',
      });
      onStarted(alarms);
    } catch (error) {
      log('error', 'alarms could not start; retrying in 5 s', { error: String(error) });
      await new Promise((r) => setTimeout(r, 5_000));
    }
  }
}

const dataset = stores.served;
if (!dataset) {
  // The ingest role serves nothing: it mirrors the files into PostgreSQL and runs the detector.
  void runAlarms(() => undefined);
  log('info', 'ingesting into PostgreSQL', { dataDir });
}
const server = dataset
  ? await createBessServer({
      dataset,
      port,
      host,
      webDist: existsSync(resolve(webDist, 'index.html')) ? webDist : null,
      apiKeys,
      cors,
      limits,
      peerUsage: stores.peerUsage,
      log,
      directFrames: process.env.BESS_DIRECT_FRAMES !== '0',
      sites,
    })
  : null;
if (server && dataset) {
  if (!trpcPatchApplied())
    log('error', 'tRPC WebSocket adapter is unpatched: streams cost a third more CPU', {
      fix: 'reinstall with pnpm (patches/ applies at install), or carry the patch to the new @trpc/server',
    });
  log('info', 'listening', {
    url: server.url,
    dashboard: existsSync(resolve(webDist, 'index.html')),
    docs: `${server.url}/docs`,
  });
  void runAlarms((a) => server.attachAlarms(a.services));
  // The first dashboards after a restart open devices at their first or last page: prepare those.
  const warmStarted = performance.now();
  dataset.warm().then(
    () => log('info', 'first and last pages ready', { ms: Math.round(performance.now() - warmStarted) }),
    (error: unknown) => log('warn', 'warm-up failed', { error: String(error) }),
  );
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('info', 'shutting down', { signal });
  await server?.close();
  await alarms?.close();
  await stores.close();
  log('info', 'stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
