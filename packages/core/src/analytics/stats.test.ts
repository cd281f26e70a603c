import { describe, expect, it } from 'vitest';
import { medianInPlace, robustSpread, SlidingMedian } from './stats.js';

function random(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** The median by the book: sort a copy, take the middle (or the mean of the two middles). */
function sortedMedian(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
}

describe('medianInPlace', () => {
  it('equals the sorted median for small and large, odd and even, tied and distinct windows', () => {
    const u = random(7);
    for (const n of [1, 2, 3, 8, 23, 24, 25, 52, 53, 260, 1001]) {
      for (const levels of [0, 3]) {
        // levels 3: only three distinct values, so most are ties (the selection's hard case).
        const values = Array.from({ length: n }, () => (levels ? Math.floor(u() * levels) : u() - 0.5));
        const typed = Float64Array.from(values);
        expect(medianInPlace(typed)).toBe(sortedMedian(values));
        expect(medianInPlace([...values])).toBe(sortedMedian(values));
      }
    }
  });

  it('reads only the first n values', () => {
    const values = Float64Array.from([5, 1, 3, 100, -100]);
    expect(medianInPlace(values, 3)).toBe(3);
    expect(values[3]).toBe(100);
    expect(medianInPlace(new Float64Array(4), 0)).toBeNaN();
  });

  it('robustSpread gives the MAD scaled to a standard deviation', () => {
    const { median, sd } = robustSpread(Float64Array.from([1, 2, 3, 4, 100]));
    expect(median).toBe(3);
    expect(sd).toBeCloseTo(1.4826, 6);
  });
});

describe('SlidingMedian', () => {
  it('is the median of the last size values pushed, through the window filling and sliding', () => {
    const u = random(11);
    for (const size of [1, 2, 5, 8]) {
      const window = new SlidingMedian(size);
      const pushed: number[] = [];
      expect(window.median()).toBeNaN();
      for (let i = 0; i < 200; i++) {
        const x = i % 17 === 0 ? (pushed.at(-1) ?? 0) : Math.round(u() * 20) / 4;
        window.push(x);
        pushed.push(x);
        expect(window.median()).toBe(sortedMedian(pushed.slice(-size)));
      }
      window.clear();
      expect(window.count).toBe(0);
      window.push(3);
      expect(window.median()).toBe(3);
    }
  });
});
