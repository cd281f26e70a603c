import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * CORS from one allow-list (`BESS_CORS_ORIGINS`, comma-separated; `*` for any).
 * With API keys on, `*` is refused at start-up: a key-protected API must name
 * the dashboards allowed to call it.
 */
export class CorsPolicy {
  constructor(readonly origins: readonly string[]) {}

  static fromEnv(env: NodeJS.ProcessEnv, keysEnabled: boolean): CorsPolicy {
    const configured = (env.BESS_CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    if (keysEnabled && configured.includes('*')) {
      throw new Error('BESS_CORS_ORIGINS=* is not allowed while API keys are on; list the allowed origins');
    }
    return new CorsPolicy(configured.length ? configured : keysEnabled ? [] : ['*']);
  }

  allows(origin: string | undefined): boolean {
    if (!origin) return true;
    return this.origins.includes('*') || this.origins.includes(origin);
  }

  /** Sets the CORS headers; true when the request was a preflight and has been answered. */
  apply(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (origin && this.allows(origin)) {
      res.setHeader('Access-Control-Allow-Origin', this.origins.includes('*') ? '*' : origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader(
        'Access-Control-Allow-Headers',
        'Content-Type, Authorization, X-API-Key, Last-Event-ID, trpc-accept',
      );
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(origin && !this.allows(origin) ? 403 : 204);
      res.end();
      return true;
    }
    return false;
  }
}
