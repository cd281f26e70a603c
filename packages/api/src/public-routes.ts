import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BessDataset } from '@bess/core';
import { sendJson } from './http-util.js';
import { openApiDocument, REDOC_HTML, redocDir, SWAGGER_HTML, SWAGGER_INIT, swaggerUiDir } from './openapi.js';
import { handleSession, SESSION_PATH, type SessionRouteDeps } from './session-routes.js';
import { serveFile } from './static.js';

/** Answers a request, or returns false when it is not this route's after all (falls through to the rest). */
type Route = (req: IncomingMessage, res: ServerResponse, path: string) => void | boolean | Promise<void>;

/** Routes that need no API key: health, readiness, the API's documents, and sign-in. */
export function publicRoutes(dataset: BessDataset, session: SessionRouteDeps) {
  const exact = new Map<string, Route>([
    ['/health', (_, res) => sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()) })],
    ['/ready', (_, res) => sendReadiness(res, dataset)],
    ['/docs', (_, res) => sendText(res, 'text/html', SWAGGER_HTML)],
    ['/docs/', (_, res) => sendText(res, 'text/html', SWAGGER_HTML)],
    ['/docs/init.js', (_, res) => sendText(res, 'text/javascript', SWAGGER_INIT)],
    ['/redoc', (_, res) => sendText(res, 'text/html', REDOC_HTML)],
    ['/redoc/redoc.standalone.js', (_, res) => serveFile(res, redocDir, '/redoc.standalone.js', 3600)],
    ['/openapi.json', (_, res) => sendJson(res, 200, openApiDocument())],
    [SESSION_PATH, (req, res) => handleSession(req, res, session)],
  ]);
  const swaggerAssets: Route = (_, res, path) => serveFile(res, swaggerUiDir, path.slice('/docs'.length), 3600);
  /** The route for `path`, if it is one of these. */
  return (path: string): Route | undefined =>
    exact.get(path) ?? (path.startsWith('/docs/') ? swaggerAssets : undefined);
}

/**
 * Ready while every index could be written and read, and the store's database (if any) answers. A file refused for not being a regular file
 * is listed but does not make the server unready (nothing else is affected by it); a failed index
 * does, since the readings it holds are missing or stale.
 */
function sendReadiness(res: ServerResponse, dataset: BessDataset): void {
  const { problems, damagedBlocks, unavailable } = dataset.health();
  const failed = problems.filter((p) => p.kind === 'failed');
  const ready = failed.length === 0 && !unavailable;
  // Public, like /health: which files, not the error text (it names the server's folders; the log has it).
  const listed = problems.slice(0, 20).map(({ deviceId, signal, kind }) => ({ deviceId, signal, kind }));
  sendJson(res, ready ? 200 : 503, {
    ready,
    storeReachable: !unavailable,
    devices: dataset.devices().length,
    failedFiles: failed.length,
    refusedFiles: problems.length - failed.length,
    damagedBlocks,
    problems: listed,
  });
}

function sendText(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { 'Content-Type': `${type}; charset=utf-8` });
  res.end(body);
}
