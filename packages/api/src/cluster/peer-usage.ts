import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { PeerUsage } from '../ops/rate-limit.js';

/** How often a replica shares its counts and reads its peers'. */
const SYNC_MS = 200;
/** A peer's subscriptions stop counting when it has not refreshed them for this long (it died). */
const PEER_STALE_MS = 5_000;
/** Clients not seen here for this long are no longer read. */
const ACTIVE_MS = 60_000;

interface Counts {
  queries: number;
  subscriptions: number;
}

/**
 * The per-client limits shared by the API replicas through Redis: each replica writes its own
 * counts of each client it serves (`HSET bess:usage:<client> <replica> <queries> <subs> <time>`)
 * and reads the others' a few times a second. While Redis is away each replica goes on with what
 * it last read, its own limits still applying.
 */
export class RedisPeerUsage implements PeerUsage {
  private readonly id = randomUUID();
  private readonly redis: Redis;
  private readonly mine = new Map<string, Counts>();
  private readonly dirty = new Set<string>();
  private readonly peers = new Map<string, Counts>();
  private readonly active = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private syncing = false;

  constructor(url: string) {
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 100, 1_000),
    });
    this.redis.on('error', () => undefined); // the data bus logs Redis outages
    this.timer = setInterval(() => void this.sync(), SYNC_MS);
    this.timer.unref();
  }

  /** Resolves once connected to Redis. */
  async ready(): Promise<void> {
    if (this.redis.status !== 'ready') await new Promise((resolve) => this.redis.once('ready', resolve));
  }

  queries(client: string): number {
    this.active.set(client, Date.now());
    return this.peers.get(client)?.queries ?? 0;
  }

  subscriptions(client: string): number {
    this.active.set(client, Date.now());
    return this.peers.get(client)?.subscriptions ?? 0;
  }

  report(client: string, usage: Counts): void {
    this.active.set(client, Date.now());
    this.mine.set(client, usage);
    this.dirty.add(client);
  }

  /** Shares what changed (and refreshes open subscriptions, so peers know this replica lives), then reads. */
  async sync(): Promise<void> {
    if (this.syncing || this.redis.status !== 'ready') return;
    this.syncing = true;
    try {
      const now = Date.now();
      for (const [client, seen] of this.active) {
        if (now - seen > ACTIVE_MS && !this.mine.get(client)?.subscriptions) this.active.delete(client);
      }
      const clients = [...this.active.keys()];
      const pipeline = this.redis.pipeline();
      for (const [client, counts] of this.mine) {
        if (!this.dirty.has(client) && counts.subscriptions === 0) continue;
        const key = usageKey(client);
        pipeline.hset(key, this.id, `${counts.queries} ${counts.subscriptions} ${now}`);
        pipeline.pexpire(key, ACTIVE_MS);
      }
      this.dirty.clear();
      for (const client of clients) pipeline.hgetall(usageKey(client));
      const results = (await pipeline.exec()) ?? [];
      const read = results.slice(results.length - clients.length);
      clients.forEach((client, k) => {
        const [error, fields] = read[k] ?? [];
        if (error || !fields) return;
        const sum: Counts = { queries: 0, subscriptions: 0 };
        for (const [replica, value] of Object.entries(fields as Record<string, string>)) {
          if (replica === this.id) continue;
          const [queries, subscriptions, at] = value.split(' ').map(Number) as [number, number, number];
          sum.queries += queries || 0;
          if (now - at < PEER_STALE_MS) sum.subscriptions += subscriptions || 0;
        }
        this.peers.set(client, sum);
      });
    } catch {
      // Redis away: the last counts read stand until it is back.
    } finally {
      this.syncing = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.redis.status === 'ready') {
      const pipeline = this.redis.pipeline();
      for (const client of this.mine.keys()) pipeline.hdel(usageKey(client), this.id);
      await pipeline.exec().catch(() => undefined);
    }
    this.redis.disconnect();
  }
}

function usageKey(client: string): string {
  return `bess:usage:${client}`;
}
