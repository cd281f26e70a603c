import type { IncomingMessage, ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Whether a request only reads (GET or HEAD). */
export const isRead = (req: IncomingMessage): boolean => req.method === 'GET' || req.method === 'HEAD';

/** 405 with the methods the route takes; true, so a route handler can return it. */
export function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('Allow', allow);
  sendDetail(res, 405, 'Method Not Allowed');
  return true;
}

/** FastAPI's error shape, which the prototype's clients already parse. */
export function sendDetail(res: ServerResponse, status: number, detail: unknown): void {
  sendJson(res, status, { detail });
}

/**
 * Resolves when `writer` (the response itself, or a stream piped into it) can take more data,
 * or when the client has gone; leaves no listener behind either way.
 */
export function drained(res: ServerResponse, writer: NodeJS.EventEmitter = res): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      writer.off('drain', done);
      res.off('close', done);
      resolve();
    };
    writer.once('drain', done);
    res.once('close', done);
  });
}

/** A request body that cannot be read as asked: its status (400, 413) and why. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Answers a BodyError; after a 413 the rest of the body is unread, so the connection is not reused. */
export function sendBodyError(res: ServerResponse, error: BodyError): void {
  if (error.status === 413) res.setHeader('Connection', 'close');
  sendDetail(res, error.status, error.message);
}

/** The request's JSON object body (empty is `{}`), at most `maxBytes` (413 beyond). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyError(413, `the body is over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BodyError(400, 'the body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new BodyError(400, 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}
