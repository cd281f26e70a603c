import { startRedis, type ThrowawayRedis } from '@bess/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientLimiter } from '../ops/rate-limit.js';
import { RedisPeerUsage } from './peer-usage.js';

let redis: ThrowawayRedis;
beforeAll(async () => {
  redis = await startRedis();
}, 60_000);
afterAll(() => redis?.stop());

/** Two replicas' limiters over one Redis, their clocks still (no refill). */
async function twoReplicas() {
  const limits = { ratePerSecond: 1, burst: 5, maxSubscriptions: 3 };
  const usage = [new RedisPeerUsage(redis.url), new RedisPeerUsage(redis.url)] as const;
  const limiters = usage.map((u) => new ClientLimiter(limits, () => 0, u));
  await Promise.all(usage.map((u) => u.ready()));
  /** Each shares, then each reads: what the timers do within two intervals. */
  const exchange = async (): Promise<void> => {
    for (const u of usage) await u.sync();
    for (const u of usage) await u.sync();
  };
  return { usage, limiters, exchange, close: () => Promise.all(usage.map((u) => u.close())) };
}

describe('limits shared by API replicas through Redis', () => {
  it('drains one client’s query budget across replicas', async () => {
    const { limiters, exchange, close } = await twoReplicas();
    const [a, b] = limiters;
    try {
      b!.allowQuery('key-1'); // B knows the client (and reads its peers' counts for it) from now on
      await exchange();
      expect(Array.from({ length: 4 }, () => a!.allowQuery('key-1'))).toEqual([true, true, true, true]);
      await exchange();
      // 1 + 4 of the burst of 5 are spent: B refuses, where alone it would have 4 tokens left.
      expect(b!.allowQuery('key-1')).toBe(false);
      // Another client's budget is its own.
      expect(b!.allowQuery('key-2')).toBe(true);
    } finally {
      await close();
    }
  });

  it('caps one client’s subscriptions across replicas, and frees the slots of a replica that stops', async () => {
    const { limiters, usage, exchange, close } = await twoReplicas();
    const [a, b] = limiters;
    try {
      const fromA = [a!.openSubscription('key-9'), a!.openSubscription('key-9')];
      expect(fromA.every(Boolean)).toBe(true);
      b!.openSubscription('key-0'); // unrelated: B has not seen key-9 yet
      b!.allowQuery('key-9');
      await exchange();
      const third = b!.openSubscription('key-9');
      expect(third).not.toBeNull();
      await exchange();
      expect(b!.openSubscription('key-9'), 'cap of 3 reached over both replicas').toBeNull();
      fromA[0]!();
      await exchange();
      expect(b!.openSubscription('key-9')).not.toBeNull();
      await usage[0].close(); // replica A goes: its one open subscription no longer counts
      await usage[1].sync();
      expect(usage[1].subscriptions('key-9')).toBe(0);
    } finally {
      await close();
    }
  });

  it('keeps limiting on its own while Redis is away', async () => {
    const { limiters, close } = await twoReplicas();
    redis.restart();
    try {
      const answers = Array.from({ length: 7 }, () => limiters[0]!.allowQuery('key-5'));
      expect(answers.filter(Boolean)).toHaveLength(5);
    } finally {
      await close();
    }
  });
});
