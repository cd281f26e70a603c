import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';

/** `viewer` reads; `operator` also acknowledges, comments and shelves alarms; `admin` may do everything. */
export type Role = 'viewer' | 'operator' | 'admin';

/** Who a key belongs to: its name (the actor on every change it makes) and its role. */
export interface Identity {
  name: string;
  role: Role;
}

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `identity` may do what needs `role`. */
export function hasRole(identity: Identity, role: Role): boolean {
  return ROLE_RANK[identity.role] >= ROLE_RANK[role];
}

/** The identity of every request while no keys are configured: the server is open. */
const OPEN: Identity = { name: 'anonymous', role: 'admin' };
const ENTRY = /^([^:\s]+):(viewer|operator|admin):(.+)$/;

/**
 * Optional API keys. With none configured the server is open (and says so at
 * start-up); with keys, every HTTP route, SSE stream and WebSocket connection
 * must present one. An entry is `name:role:key`, or a bare `key` (full access).
 * Keys are compared as SHA-256 digests with timingSafeEqual, so neither their
 * content nor their length leaks through timing, and they are never logged.
 */
export class ApiKeys {
  private readonly entries: { digest: Buffer; identity: Identity }[];

  constructor(keys: readonly string[]) {
    this.entries = keys
      .filter((k) => k.length > 0)
      .map((entry, i) => {
        const m = ENTRY.exec(entry);
        return m
          ? { digest: digest(m[3]!), identity: { name: m[1]!, role: m[2] as Role } }
          : { digest: digest(entry), identity: { name: `key-${i + 1}`, role: 'admin' as const } };
      });
  }

  /** `BESS_API_KEYS` (comma-separated) and/or `BESS_API_KEY_FILE` (one entry per line). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): ApiKeys {
    const keys = (env.BESS_API_KEYS ?? '').split(',').map((k) => k.trim());
    if (env.BESS_API_KEY_FILE) {
      keys.push(
        ...readFileSync(env.BESS_API_KEY_FILE, 'utf8')
          .split('\n')
          .map((k) => k.trim())
          .filter((k) => k && !k.startsWith('#')),
      );
    }
    return new ApiKeys(keys);
  }

  get enabled(): boolean {
    return this.entries.length > 0;
  }

  accepts(presented: string | undefined | null): boolean {
    return this.identify(presented) !== null;
  }

  /** The identity of `presented`, or null when it is no key of this server. */
  identify(presented: string | undefined | null): Identity | null {
    if (!this.enabled) return OPEN;
    if (!presented) return null;
    const d = digest(presented);
    let found: Identity | null = null;
    // Compare against every key, so the time does not depend on which one matches.
    for (const entry of this.entries) if (timingSafeEqual(entry.digest, d)) found ??= entry.identity;
    return found;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * The key a request presents: `Authorization: Bearer <key>`, `X-API-Key`, or an
 * `api_key` query parameter (EventSource and WebSocket clients in browsers cannot
 * set headers).
 */
export function presentedKey(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const query = url.searchParams.get('api_key');
  if (query) return query;
  // tRPC's SSE link sends its connection params as JSON in the query string.
  const params = url.searchParams.get('connectionParams');
  if (params) {
    try {
      const apiKey = (JSON.parse(params) as { apiKey?: unknown }).apiKey;
      if (typeof apiKey === 'string') return apiKey;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
