import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
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
