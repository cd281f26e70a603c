import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';

/**
 * Optional API keys. With none configured the server is open (and says so at
 * start-up); with keys, every HTTP route, SSE stream and WebSocket connection
 * must present one. Keys are compared as SHA-256 digests with timingSafeEqual,
 * so neither their content nor their length leaks through timing, and they are
 * never logged.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.filter((k) => k.length > 0).map(digest);
  }

  /** `BESS_API_KEYS` (comma-separated) and/or `BESS_API_KEY_FILE` (one key per line). */
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
    return this.digests.length > 0;
  }

  accepts(presented: string | undefined | null): boolean {
    if (!this.enabled) return true;
    if (!presented) return false;
    const d = digest(presented);
    let ok = false;
    // Compare against every key, so the time does not depend on which one matches.
    for (const key of this.digests) ok = timingSafeEqual(key, d) || ok;
    return ok;
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
