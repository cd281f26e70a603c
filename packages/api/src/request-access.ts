import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BessDataset } from '@bess/core';
import { presentedKey, type ApiKeys } from './ops/auth.js';
import type { FairTurns } from './ops/fair-turns.js';
import type { ServerMetrics } from './ops/metrics.js';
import type { ClientLimiter } from './ops/rate-limit.js';
import type { Sessions } from './ops/sessions.js';
import type { WorkGate } from './ops/work-gate.js';
import type { StreamHub } from './streaming/index.js';
import type { Sites } from './sites.js';
import type { AlarmServices, Context } from './trpc.js';

export interface AccessDeps {
  dataset: BessDataset;
  hub: StreamHub;
  metrics: ServerMetrics;
  workGate: WorkGate;
  turns: FairTurns;
  apiKeys: ApiKeys;
  sessions: Sessions;
  limiter: ClientLimiter | undefined;
  /** The alarm services once they have started (they start after the server listens). */
  alarms: () => AlarmServices | undefined;
  sites: Sites;
}

/** Who a request is and whether it may go on: one definition for HTTP, tRPC and WebSocket upgrades. */
export function createRequestAccess(deps: AccessDeps) {
  const { apiKeys, sessions, limiter, metrics } = deps;
  const addressOf = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';
  // A key's client id is a digest of the whole key: distinct keys never share a bucket, and the id reveals nothing.
  const clientOf = (req: IncomingMessage, key: string | undefined): string =>
    apiKeys.enabled && key
      ? `key:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`
      : `ip:${addressOf(req)}`;
  const contextFor = (req: IncomingMessage, key: string | undefined): Context => ({
    dataset: deps.dataset,
    hub: deps.hub,
    metrics,
    workGate: deps.workGate,
    turns: deps.turns,
    ...(limiter ? { limiter } : {}),
    ...alarmsOf(deps),
    sites: deps.sites,
    clientId: clientOf(req, key),
    // Only admitted requests get a context, so their key has an identity; a viewer's is the least.
    identity: apiKeys.identify(key) ?? { name: 'unknown', role: 'viewer' },
  });
  /**
   * Who a request says it is: the key it presents in a header or the query, its browser session
   * (cookie), the key it goes on with (the presented one, else the session's), and the session
   * when the cookie alone signs it in.
   */
  const credentialsOf = (req: IncomingMessage, url: URL) => {
    const presented = presentedKey(req, url);
    const session = sessions.of(req);
    return { session, key: presented ?? session?.key, cookieSession: presented === undefined ? session : undefined };
  };
  return {
    addressOf,
    clientOf,
    contextFor,
    credentialsOf,
    /** The key a request goes on with (see credentialsOf). */
    keyOf: (req: IncomingMessage, url: URL): string | undefined => credentialsOf(req, url).key,
    /** An address that guesses keys is refused, unless the request is from a signed-in browser (its cookie is not a guess). */
    refusedForGuessing: (req: IncomingMessage, session: unknown): boolean =>
      apiKeys.enabled && !!limiter?.authBlocked(addressOf(req)) && session === undefined,
    /** Whether a request may go on with `key`; counts the failure when not, and throttles an address that guesses wrong keys. */
    admits: (req: IncomingMessage, key: string | undefined): boolean => {
      if (apiKeys.accepts(key)) return true;
      metrics.authFailures.inc();
      if (key !== undefined) limiter?.authFailed(addressOf(req));
      return false;
    },
  };
}

export type RequestAccess = ReturnType<typeof createRequestAccess>;

function alarmsOf(deps: AccessDeps): { alarms?: AlarmServices } {
  const alarms = deps.alarms();
  return alarms ? { alarms } : {};
}
