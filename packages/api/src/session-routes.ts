import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRead, sendDetail, sendJson } from './http-util.js';
import type { ApiKeys } from './ops/auth.js';
import { sessionCookie, type Sessions } from './ops/sessions.js';

/** `/auth/session`: GET says whether keys are needed and whether this browser is signed in; POST signs in; DELETE signs out. */
export const SESSION_PATH = '/auth/session';
const MAX_BODY_BYTES = 4096;

export interface SessionRouteDeps {
  apiKeys: ApiKeys;
  sessions: Sessions;
  /** Checks a presented key, counting and throttling failures as every other route does. */
  admits: (req: IncomingMessage, key: string | undefined) => boolean;
  /** Whether the request's address is refused for guessing keys. */
  blocked: (req: IncomingMessage) => boolean;
}

export async function handleSession(req: IncomingMessage, res: ServerResponse, deps: SessionRouteDeps): Promise<void> {
  const { apiKeys, sessions } = deps;
  const session = sessions.of(req);
  if (isRead(req)) {
    res.setHeader('Cache-Control', 'no-store');
    return sendJson(res, 200, {
      keysRequired: apiKeys.enabled,
      signedIn: !apiKeys.enabled || !!session,
      ...(session ? { csrfToken: session.csrf } : {}),
    });
  }
  if (req.method === 'DELETE') {
    if (session) {
      if (!sessions.csrfMatches(req, session)) return sendDetail(res, 403, 'missing or wrong X-CSRF-Token');
      sessions.destroy(session.id);
    }
    res.setHeader('Set-Cookie', sessionCookie('', 0));
    res.writeHead(204);
    res.end();
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'GET, POST, DELETE');
    return sendDetail(res, 405, 'Method Not Allowed');
  }
  const body = await readSmallBody(req);
  if (body === null) return sendDetail(res, 413, `the body must be JSON of at most ${MAX_BODY_BYTES} bytes`);
  let key: unknown;
  try {
    key = (JSON.parse(body) as { key?: unknown }).key;
  } catch {
    return sendDetail(res, 400, 'expected JSON: {"key": "..."}');
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > 512)
    return sendDetail(res, 422, [{ loc: ['body', 'key'], msg: 'a key is required', type: 'value_error' }]);
  if (!apiKeys.enabled) return sendJson(res, 200, { signedIn: true });
  if (deps.blocked(req)) {
    res.setHeader('Retry-After', '60');
    return sendDetail(res, 429, 'too many failed key attempts from this address; retry in a minute');
  }
  if (!deps.admits(req, key)) return sendDetail(res, 401, 'that key is not valid');
  const created = sessions.create(key);
  if (!created) return sendDetail(res, 503, 'the server holds as many sessions as it will; retry later');
  res.setHeader('Set-Cookie', sessionCookie(created.id, Math.floor(sessions.ttlMs / 1000)));
  res.setHeader('Cache-Control', 'no-store');
  sendJson(res, 200, { signedIn: true, csrfToken: created.csrf });
}

/** The request body as text, or null when it is larger than MAX_BODY_BYTES (the rest is not read). */
function readSmallBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.once('error', () => resolve(null));
  });
}
