import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Browser sign-in for a server with API keys: the dashboard posts a key once and gets an
 * HttpOnly, SameSite=Strict session cookie, which the page, tRPC over HTTP and the WebSocket
 * then present instead of the key. Sessions live in memory (a restart signs everyone out) and
 * carry a CSRF token that every state-changing request made with the cookie must echo in
 * `X-CSRF-Token`.
 */
const SESSION_COOKIE = 'bess_session';
const CSRF_HEADER = 'x-csrf-token';
const DEFAULT_TTL_MS = 12 * 3_600_000;
const MAX_SESSIONS = 10_000;
/** Sessions one key may hold: signing in again past it ends that key's oldest, never another key's. */
const MAX_SESSIONS_PER_KEY = 200;

export interface Session {
  key: string;
  csrf: string;
  expires: number;
}

export class Sessions {
  private readonly byId = new Map<string, Session>();
  /** What to close when a session ends: its WebSockets and streams. */
  private readonly attached = new Map<string, Set<() => void>>();

  constructor(readonly ttlMs = DEFAULT_TTL_MS) {}

  /** A new session for a key already checked by the caller; null when the server holds as many as it will. */
  create(key: string): { id: string; csrf: string } | null {
    this.sweep();
    const mine = [...this.byId].filter(([, s]) => s.key === key);
    if (mine.length >= MAX_SESSIONS_PER_KEY) this.destroy(mine[0]![0]);
    else if (this.byId.size >= MAX_SESSIONS) return null;
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    this.byId.set(id, { key, csrf, expires: Date.now() + this.ttlMs });
    return { id, csrf };
  }

  /** The live session the request's cookie names, if any. */
  of(req: IncomingMessage): (Session & { id: string }) | undefined {
    // Every cookie of that name is tried: one planted beside the real one (from a sibling subdomain) cannot hide it.
    for (const id of sessionIdsOf(req)) {
      const session = this.byId.get(id);
      if (!session) continue;
      if (session.expires <= Date.now()) {
        this.destroy(id);
        continue;
      }
      return { ...session, id };
    }
    return undefined;
  }

  /** Whether the request echoes its session's CSRF token. */
  csrfMatches(req: IncomingMessage, session: Session): boolean {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string') return false;
    // Compared as bytes: a header of the token's length in characters can be longer in bytes (non-ASCII).
    const sentBytes = Buffer.from(sent);
    const expected = Buffer.from(session.csrf);
    return sentBytes.length === expected.length && timingSafeEqual(sentBytes, expected);
  }

  /** Ends a session, and closes what it has open. */
  destroy(id: string): void {
    this.byId.delete(id);
    const closers = this.attached.get(id);
    this.attached.delete(id);
    for (const close of closers ?? []) close();
  }

  /** Registers something to close when the session ends (sign-out, expiry); returns the detach. */
  attach(id: string, close: () => void): () => void {
    let set = this.attached.get(id);
    if (!set) this.attached.set(id, (set = new Set()));
    set.add(close);
    return () => {
      set.delete(close);
      if (set.size === 0 && this.attached.get(id) === set) this.attached.delete(id);
    };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.byId) if (s.expires <= now) this.destroy(id);
  }
}

/** The values of the request's session cookies (at most 8 looked at). */
function sessionIdsOf(req: IncomingMessage): string[] {
  const cookies = req.headers.cookie;
  if (!cookies) return [];
  const ids: string[] = [];
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const id = part.slice(eq + 1).trim();
    if (id) ids.push(id);
    if (ids.length === 8) break;
  }
  return ids;
}

export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}
