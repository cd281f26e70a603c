/**
 * Per-client token buckets for queries, caps on concurrent subscriptions and WebSocket
 * connections, and a throttle on failed key attempts. A client is its API key when keys are
 * on (a digest of the whole key), else its remote address.
 */
export interface RateLimitOptions {
  /** Sustained queries per second per client. */
  ratePerSecond: number;
  /** Burst size. */
  burst: number;
  /** Concurrent subscriptions per client. */
  maxSubscriptions: number;
  /** Open WebSocket connections per remote address. */
  maxConnections: number;
  /** Failed key attempts per remote address per minute before it is refused for a minute. */
  authFailuresPerMinute: number;
  /** HTTP requests (not streams) one client may have open at once: answers it does not read hold memory. */
  maxRequestsInFlight: number;
}

export const DEFAULT_LIMITS: RateLimitOptions = {
  ratePerSecond: 50,
  burst: 200,
  maxSubscriptions: 50,
  maxConnections: 64,
  authFailuresPerMinute: 20,
  maxRequestsInFlight: 32,
};

const MINUTE_MS = 60_000;

/**
 * What the other API replicas of a cluster use of the per-client limits (cluster/peer-usage.ts):
 * a client's query rate and its subscription cap hold across all replicas, not per replica.
 * Known a moment late (they are exchanged a few times a second): a burst split over replicas can
 * overshoot by what one exchange interval lets through.
 */
export interface PeerUsage {
  /** Queries `client` has made on the other replicas since they started (only grows). */
  queries(client: string): number;
  /** Subscriptions `client` holds open on the other replicas now. */
  subscriptions(client: string): number;
  /** This replica's counts, to be shared. */
  report(client: string, usage: { queries: number; subscriptions: number }): void;
}

export class ClientLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; peerQueries: number }>();
  /** Queries counted here per client since start, shared with peers. */
  private readonly queriesMade = new Map<string, number>();
  private readonly subscriptions = new Map<string, number>();
  private readonly connections = new Map<string, number>();
  private readonly requests = new Map<string, number>();
  private readonly authFailures = new Map<string, { count: number; since: number }>();

  readonly options: RateLimitOptions;

  /** Unset options take DEFAULT_LIMITS; a rate or cap of 0 means none. */
  constructor(
    options: Partial<RateLimitOptions> = {},
    private readonly now: () => number = () => performance.now(),
    /** The other replicas' use, in a cluster; none: this replica's limits are the client's. */
    private readonly peers: PeerUsage | null = null,
  ) {
    this.options = { ...DEFAULT_LIMITS, ...options };
  }

  /** Takes one token; false when the client is over its rate. Peers' queries drain the same bucket. */
  allowQuery(client: string): boolean {
    if (this.options.ratePerSecond <= 0) return true;
    const t = this.now();
    const peerQueries = this.peers?.queries(client) ?? 0;
    const bucket = this.buckets.get(client) ?? { tokens: this.options.burst, at: t, peerQueries };
    const refill = ((t - bucket.at) / 1000) * this.options.ratePerSecond;
    bucket.tokens =
      Math.min(this.options.burst, bucket.tokens + refill) - Math.max(0, peerQueries - bucket.peerQueries);
    bucket.at = t;
    bucket.peerQueries = peerQueries;
    this.buckets.set(client, bucket);
    if (this.buckets.size > 10_000) this.forgetIdle(t);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    if (this.peers) {
      this.queriesMade.set(client, (this.queriesMade.get(client) ?? 0) + 1);
      this.share(client);
    }
    return true;
  }

  /** Reserves a subscription slot; returns a release function, or null when the client is at its cap (here and on peers together). */
  openSubscription(client: string): (() => void) | null {
    const cap = this.options.maxSubscriptions;
    const peers = this.peers?.subscriptions(client) ?? 0;
    if (cap > 0 && peers > 0 && (this.subscriptions.get(client) ?? 0) + peers >= cap) return null;
    const release = reserve(this.subscriptions, client, cap);
    if (!release || !this.peers) return release;
    this.share(client);
    return () => {
      release();
      this.share(client);
    };
  }

  private share(client: string): void {
    this.peers?.report(client, {
      queries: this.queriesMade.get(client) ?? 0,
      subscriptions: this.subscriptions.get(client) ?? 0,
    });
  }

  subscriptionsOf(client: string): number {
    return this.subscriptions.get(client) ?? 0;
  }

  /** Reserves one of a client's in-flight HTTP requests; null when it is at its cap. */
  openRequest(client: string): (() => void) | null {
    return reserve(this.requests, client, this.options.maxRequestsInFlight);
  }

  /** Reserves a WebSocket connection slot for a remote address; null when it is at its cap. */
  openConnection(address: string): (() => void) | null {
    return reserve(this.connections, address, this.options.maxConnections);
  }

  /** Counts a failed key attempt from `address`. */
  authFailed(address: string): void {
    if (this.options.authFailuresPerMinute <= 0) return;
    const t = this.now();
    const entry = this.authFailures.get(address);
    if (!entry || t - entry.since > MINUTE_MS) this.authFailures.set(address, { count: 1, since: t });
    else entry.count++;
    if (this.authFailures.size > 10_000) {
      for (const [a, e] of this.authFailures) if (t - e.since > MINUTE_MS) this.authFailures.delete(a);
    }
  }

  /** Whether `address` has failed too often this minute: it is refused before its key is even looked at. */
  authBlocked(address: string): boolean {
    const entry = this.authFailures.get(address);
    if (!entry) return false;
    if (this.now() - entry.since > MINUTE_MS) {
      this.authFailures.delete(address);
      return false;
    }
    return entry.count >= this.options.authFailuresPerMinute;
  }

  /** Buckets that have refilled completely carry no state worth keeping. */
  private forgetIdle(t: number): void {
    const full = (this.options.burst / this.options.ratePerSecond) * 1000;
    for (const [client, bucket] of this.buckets) {
      if (t - bucket.at <= full) continue;
      this.buckets.delete(client);
      this.queriesMade.delete(client); // peers see its count drop, which drains nothing
    }
  }
}

/** Takes one of `cap` slots of `client` in `counts`; returns its release (idempotent), or null at the cap. */
function reserve(counts: Map<string, number>, client: string, cap: number): (() => void) | null {
  if (cap <= 0) return () => {};
  const open = counts.get(client) ?? 0;
  if (open >= cap) return null;
  counts.set(client, open + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (counts.get(client) ?? 1) - 1;
    if (n <= 0) counts.delete(client);
    else counts.set(client, n);
  };
}
