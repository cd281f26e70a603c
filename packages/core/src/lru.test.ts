import { describe, expect, it } from 'vitest';
import { Lru } from './lru.js';

describe('Lru', () => {
  it('evicts the least recently used entries once the cost bound is passed', () => {
    const evicted: string[] = [];
    const lru = new Lru<number>(
      3,
      () => 1,
      (_, key) => evicted.push(key),
    );
    for (const k of ['a', 'b', 'c']) lru.get(k, () => 1);
    lru.get('a', () => 99); // a hit refreshes a, and does not reload it
    lru.get('d', () => 1);
    expect(evicted).toEqual(['b']);
    expect(lru.get('a', () => 99)).toBe(1);
    lru.get('e', () => 1);
    expect(evicted).toEqual(['b', 'c']);
    expect(lru.size).toEqual({ entries: 3, cost: 3 });
  });

  it('stays within its byte bound under churn of many keys', () => {
    const lru = new Lru<Float64Array>(64 * 1024, (b) => b.byteLength);
    for (let i = 0; i < 20_000; i++) lru.get(`k${i % 5000}`, () => new Float64Array(512));
    expect(lru.size.cost).toBeLessThanOrEqual(64 * 1024);
    expect(lru.size.entries).toBe(16);
  });
});
