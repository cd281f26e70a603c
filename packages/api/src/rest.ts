import type { IncomingMessage, ServerResponse } from 'node:http';
import { BessError, RECORD_SIGNALS, type RecordKind } from '@bess/core';
import { format } from 'fast-csv';
import { ZodError, type z } from 'zod';
import { drained, isRead, sendDetail, sendJson } from './http-util.js';
import { decodePathSegment, parseRequestTarget } from './ops/request-target.js';
import { routeLabel } from './ops/route-label.js';
import { batchInput, streamInput } from './schemas.js';
import { openStream, StreamEndedError, SubscriptionRefusedError, type StreamEvent } from './streaming/index.js';
import { batch, kindDevices } from './service.js';
import type { Context } from './trpc.js';

/**
 * The prototype's REST surface, kept for curl, EventSource and spreadsheet users:
 * the same schemas and engine calls as the tRPC procedures, FastAPI's status codes
 * (404 unknown device, 422 invalid parameters) and error shape.
 */
const KINDS: RecordKind[] = ['bms', 'pcs'];
const HEARTBEAT_MS = 15_000;
const EXPORT_PAGE = 1000;

const REST_ENDPOINTS = [
  { method: 'GET', path: '/', description: 'API information and available endpoints' },
  { method: 'GET', path: '/health', description: 'Liveness probe' },
  { method: 'GET', path: '/ready', description: 'Readiness: indexes loaded' },
  { method: 'GET', path: '/metrics', description: 'Prometheus metrics' },
  { method: 'GET', path: '/docs', description: 'Swagger UI' },
  { method: 'GET', path: '/redoc', description: 'ReDoc' },
  { method: 'GET', path: '/openapi.json', description: 'OpenAPI document' },
  ...KINDS.flatMap((k) => [
    { method: 'GET', path: `/${k}/devices`, description: `List all devices with ${k.toUpperCase()} data` },
    {
      method: 'GET',
      path: `/${k}/{device_id}`,
      description: `Batch of aligned ${k.toUpperCase()} records (batch_size, skip, from, to, step)`,
    },
    {
      method: 'GET',
      path: `/${k}/{device_id}/stream`,
      description: `Server-Sent Events stream of ${k.toUpperCase()} records (interval, from, live)`,
    },
    {
      method: 'GET',
      path: `/${k}/{device_id}/export.csv`,
      description: `Aligned ${k.toUpperCase()} records of a range as CSV (from, to, step)`,
    },
  ]),
  { method: 'POST/GET', path: '/trpc/{procedure}', description: 'Typed tRPC API (also WebSocket at /trpc)' },
];

/** Epoch milliseconds as the time schema takes them (ISO dates such as `2024-06-14` are text). */
const EPOCH_MS = /^-?\d{1,16}$/;

/** Query string -> the raw input a zod schema expects: numeric text becomes a number (for times, only epoch milliseconds). */
export function queryInput(
  url: URL,
  names: Record<string, string>,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const input: Record<string, unknown> = { ...extra };
  for (const [param, key] of Object.entries(names)) {
    const raw = url.searchParams.get(param);
    if (raw === null) continue;
    const isTime = key === 'from' || key === 'to';
    const numeric = isTime ? EPOCH_MS.test(raw.trim()) : raw.trim() !== '' && !Number.isNaN(Number(raw));
    input[key] = numeric ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
  }
  return input;
}

export function parseQuery<S extends z.ZodType>(
  schema: S,
  input: unknown,
  params: Record<string, string>,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new QueryError(result.error, params);
}

class QueryError extends Error {
  constructor(
    readonly zod: ZodError,
    readonly params: Record<string, string>,
  ) {
    super('invalid parameters');
  }
  detail() {
    const paramOf = Object.fromEntries(Object.entries(this.params).map(([p, k]) => [k, p]));
    return this.zod.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      return { loc: [key === 'deviceId' ? 'path' : 'query', paramOf[key] ?? key], msg: i.message, type: i.code };
    });
  }
}

/** A path segment whose percent-encoding is malformed (422, naming the path parameter). */
class PathSegmentError extends Error {
  constructor(readonly param: string) {
    super('malformed percent-encoding');
  }
}

/** A decoded path segment; a malformed one is answered 422 by sendError. */
/** A page of aligned records as the REST query asks for it (`batch_size`, `skip`, `from`, `to`, `date`, `step`). */
export async function restPage(ctx: Context, kind: RecordKind, url: URL, deviceId: string) {
  const input = parseQuery(batchInput, queryInput(url, BATCH_PARAMS, { deviceId }), BATCH_PARAMS);
  return batch(ctx.dataset, kind, input);
}

/** The page fields every REST batch answer opens with, this API's and the prototype's. */
export function pageEnvelope(page: Awaited<ReturnType<typeof batch>>) {
  return {
    device_id: page.deviceId,
    total_records: page.total,
    batch_size: page.batchSize,
    skip: page.skip,
    returned: page.records.length,
  };
}

export function pathSegment(segment: string, param: string): string {
  const decoded = decodePathSegment(segment);
  if (decoded === null) throw new PathSegmentError(param);
  return decoded;
}

export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof QueryError) return sendDetail(res, 422, error.detail());
  if (error instanceof PathSegmentError)
    return sendDetail(res, 422, [{ loc: ['path', error.param], msg: error.message, type: 'value_error' }]);
  if (error instanceof BessError) {
    if (error.code === 'NOT_FOUND') return sendDetail(res, 404, error.message);
    if (error.code === 'SERVICE_UNAVAILABLE') {
      res.setHeader('Retry-After', '5');
      return sendDetail(res, 503, error.message);
    }
    return sendDetail(res, 422, [{ loc: ['query', error.field ?? ''], msg: error.message, type: 'value_error' }]);
  }
  if (error instanceof SubscriptionRefusedError) return sendDetail(res, 429, error.message);
  throw error;
}

const BATCH_PARAMS = {
  batch_size: 'batchSize',
  skip: 'skip',
  tail: 'tail',
  from: 'from',
  to: 'to',
  date: 'date',
  step: 'step',
};
export const STREAM_PARAMS = { interval: 'interval', from: 'from', step: 'step', live: 'live' };

/** Handles a REST route; false when the path is not one of them. */
export async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL, ctx: Context): Promise<boolean> {
  const parts = url.pathname.split('/').filter(Boolean);
  if (!isRead(req)) return false;
  if (parts.length === 0) {
    sendJson(res, 200, {
      name: 'BESS telemetry API',
      version: '1.0.0',
      docs: '/docs',
      openapi: '/openapi.json',
      endpoints: REST_ENDPOINTS,
    });
    return true;
  }
  const kind = parts[0] as RecordKind;
  if (!KINDS.includes(kind) || parts.length > 3) return false;
  try {
    if (parts.length === 2 && parts[1] === 'devices') {
      const devices = kindDevices(ctx.dataset, kind);
      sendJson(res, 200, { devices: devices.map((d) => d.id), count: devices.length, details: devices });
      return true;
    }
    const rawId = pathSegment(parts[1] ?? '', 'device_id');
    if (parts.length === 2) {
      const page = await restPage(ctx, kind, url, rawId);
      sendJson(res, 200, { ...pageEnvelope(page), step_seconds: page.stepSeconds, data: page.records });
      return true;
    }
    if (parts[2] === 'stream') {
      const lastEventId = req.headers['last-event-id'];
      const input = parseQuery(
        streamInput,
        queryInput(url, STREAM_PARAMS, {
          deviceId: rawId,
          ...(typeof lastEventId === 'string' ? { lastEventId } : {}),
        }),
        STREAM_PARAMS,
      );
      if (req.method === 'HEAD') {
        ctx.dataset.device(input.deviceId); // 404 for an unknown device, as GET would answer
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        res.end();
        return true;
      }
      await serveSse(req, res, ctx, kind, input);
      return true;
    }
    if (parts[2] === 'export.csv') {
      const input = parseQuery(batchInput, queryInput(url, BATCH_PARAMS, { deviceId: rawId }), BATCH_PARAMS);
      await serveCsv(res, ctx, kind, input);
      return true;
    }
    return false;
  } catch (error) {
    sendError(res, error instanceof ZodError ? new QueryError(error, {}) : error);
    return true;
  }
}

/** One `data: {json}` event per record, with the record time as event id so EventSource resumes. */
export async function serveSse(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Context,
  kind: RecordKind,
  input: z.output<typeof streamInput>,
  /** Each event's `data:` text (default: the record's JSON, serialised once per broadcast). */
  render: (event: StreamEvent) => string | Promise<string> = (event) => event.json,
): Promise<void> {
  const opened = performance.now();
  const route = `sse:${routeLabel(parseRequestTarget(req.url)?.pathname ?? '')}`;
  const { subscription, close } = openStream(ctx, kind, input);
  const aborted = new AbortController();
  const stop = () => aborted.abort();
  req.on('close', stop);
  res.on('close', stop);
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write(': stream open\n\n');
  ctx.metrics?.connections.inc({ transport: 'sse' });
  const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  // A stream's latency is the time to its first event (what a viewer waits for).
  let first = true;
  try {
    for (let event = await subscription.next(aborted.signal); event; event = await subscription.next(aborted.signal)) {
      ctx.metrics?.eventsSent.inc({ kind });
      // A client that reads slowly makes write() return false: wait for it; meanwhile the
      // subscription's bounded queue drops the oldest events instead of growing.
      ctx.metrics?.streamSendLateness.observe(event.secondsLate());
      const sent = res.write(`id: ${event.id}\ndata: ${await render(event)}\n\n`);
      if (first) ctx.metrics?.queryLatency.observe((performance.now() - opened) / 1000, { route });
      first = false;
      if (!sent) await drained(res);
    }
  } catch (error) {
    // The stream ended on the server's side (its device went away): say why, as a named event.
    if (!(error instanceof StreamEndedError)) throw error;
    res.write(`event: error\ndata: ${JSON.stringify({ detail: error.message })}\n\n`);
  } finally {
    clearInterval(heartbeat);
    close();
    ctx.metrics?.connections.dec({ transport: 'sse' });
    req.off('close', stop);
    res.end();
  }
}

/** The aligned records of a range as CSV, paged through the engine: constant memory however long the range. */
async function serveCsv(
  res: ServerResponse,
  ctx: Context,
  kind: RecordKind,
  input: z.output<typeof batchInput>,
): Promise<void> {
  const first = await batch(ctx.dataset, kind, { ...input, skip: 0, batchSize: 1 });
  if (res.req.method === 'HEAD') {
    res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8' });
    res.end();
    return;
  }
  const fields = RECORD_SIGNALS[kind].map((s) => s.field);
  const name = `${input.deviceId}-${kind}${input.from !== undefined ? `-${new Date(input.from).toISOString().slice(0, 10)}` : ''}.csv`;
  res.writeHead(200, {
    'Content-Type': 'text/csv; charset=utf-8',
    'Content-Disposition': `attachment; filename="${name}"`,
  });
  const csv = format({ headers: ['timestamp', ...fields], includeEndRowDelimiter: true });
  csv.pipe(res);
  let gone = false;
  res.on('close', () => (gone = true));
  for (let skip = 0; skip < first.total && !gone; skip += EXPORT_PAGE) {
    const page = await batch(ctx.dataset, kind, { ...input, skip, batchSize: EXPORT_PAGE });
    for (const record of page.records) {
      if (!csv.write(record) && !gone) await drained(res, csv);
    }
  }
  csv.end();
}
