/**
 * Per-client token buckets for queries, and a cap on concurrent subscriptions.
 * A client is its API key when keys are on, else its remote address.
 */
export interface RateLimitOptions {
  /** Sustained queries per second per client. */
  ratePerSecond: number;
  /** Burst size. */
  burst: number;
  /** Concurrent subscriptions per client. */
  maxSubscriptions: number;
}

export const DEFAULT_LIMITS: RateLimitOptions = { ratePerSecond: 50, burst: 200, maxSubscriptions: 50 };

export class ClientLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly subscriptions = new Map<string, number>();

  constructor(
    readonly options: RateLimitOptions = DEFAULT_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token; false when the client is over its rate. */
  allowQuery(client: string): boolean {
    const t = this.now();
    const bucket = this.buckets.get(client) ?? { tokens: this.options.burst, at: t };
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + ((t - bucket.at) / 1000) * this.options.ratePerSecond);
    bucket.at = t;
    this.buckets.set(client, bucket);
    if (this.buckets.size > 10_000) this.forgetIdle(t);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Reserves a subscription slot; returns a release function, or null when the client is at its cap. */
  openSubscription(client: string): (() => void) | null {
    const open = this.subscriptions.get(client) ?? 0;
    if (open >= this.options.maxSubscriptions) return null;
    this.subscriptions.set(client, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.subscriptions.get(client) ?? 1) - 1;
      if (n <= 0) this.subscriptions.delete(client);
      else this.subscriptions.set(client, n);
    };
  }

  subscriptionsOf(client: string): number {
    return this.subscriptions.get(client) ?? 0;
  }

  /** Buckets that have refilled completely carry no state worth keeping. */
  private forgetIdle(t: number): void {
    const full = (this.options.burst / this.options.ratePerSecond) * 1000;
    for (const [client, bucket] of this.buckets) if (t - bucket.at > full) this.buckets.delete(client);
  }
}
