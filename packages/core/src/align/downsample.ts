import { BLOCK_ROWS } from '../ingest/index-store.js';
import type { SignalReader } from '../store/signal-reader.js';
import type { BucketSeries } from '../types.js';

/**
 * At most `maxPoints` time buckets over [from, to], each with the min, max and
 * mean of its readings, so a one-sample spike still shows at any zoom level.
 * Empty buckets are left out (a gap stays a gap on the chart).
 */
export function downsampleReader(reader: SignalReader, from: number, to: number, maxPoints: number): BucketSeries {
  const bucketMs = Math.max(1, Math.ceil((to - from + 1) / maxPoints));
  const out: BucketSeries = { signal: reader.meta.signal, bucketMs, t: [], min: [], max: [], mean: [] };
  let i = reader.indexAtOrAfter(from);
  let current = -1;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  const flush = (): void => {
    if (n === 0) return;
    out.t.push(from + current * bucketMs);
    out.min.push(min);
    out.max.push(max);
    out.mean.push(sum / n);
  };
  while (i < reader.rows) {
    const b = Math.floor(i / BLOCK_ROWS);
    const block = reader.block(b);
    const end = Math.min(reader.rows, (b + 1) * BLOCK_ROWS);
    for (; i < end; i++) {
      const at = (i - b * BLOCK_ROWS) * 2;
      const t = block[at]!;
      if (t > to) {
        flush();
        return out;
      }
      const v = block[at + 1]!;
      const bucket = Math.floor((t - from) / bucketMs);
      if (bucket !== current) {
        flush();
        current = bucket;
        min = v;
        max = v;
        sum = 0;
        n = 0;
      }
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      n++;
    }
  }
  flush();
  return out;
}
