import { BLOCK_ROWS, SUMMARY_FIELDS, SUMMARY_ROWS } from '../ingest/index-store.js';
import type { SignalReader } from '../store/signal-reader.js';
import type { BucketSeries } from '../types.js';

/**
 * At most `maxPoints` time buckets over [from, to], each with the min, max and
 * mean of its readings, so a one-sample spike still shows at any zoom level.
 * Empty buckets are left out (a gap stays a gap on the chart).
 *
 * Pages of 256 rows that fall wholly inside one bucket are taken from their
 * precomputed summary, so a long range costs a pass over summaries, not over
 * every reading. When buckets are much wider than pages (at least 8 pages), a
 * page that straddles two buckets is counted in the bucket of its first reading
 * rather than read row by row: every reading still lands in exactly one bucket,
 * and a bucket's edge moves by less than an eighth of its width.
 */
export function downsampleReader(reader: SignalReader, from: number, to: number, maxPoints: number): BucketSeries {
  const bucketMs = Math.max(1, Math.ceil((to - from + 1) / maxPoints));
  const out: BucketSeries = { signal: reader.meta.signal, bucketMs, t: [], min: [], max: [], mean: [] };
  const rows = reader.rows;
  const summaries = reader.summaries();
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
  const enter = (bucket: number): void => {
    if (bucket === current) return;
    flush();
    current = bucket;
    min = Infinity;
    max = -Infinity;
    sum = 0;
    n = 0;
  };

  const meta = reader.meta;
  const pageMs = rows > SUMMARY_ROWS && meta.first !== null && meta.last !== null ? ((meta.last - meta.first) / rows) * SUMMARY_ROWS : Infinity;
  const wholePages = bucketMs >= 8 * pageMs;

  let blockNo = -1;
  let block: Float64Array = new Float64Array(0);
  let i = reader.indexAtOrAfter(from);
  while (i < rows) {
    if (i % SUMMARY_ROWS === 0) {
      const o = (i / SUMMARY_ROWS) * SUMMARY_FIELDS;
      const first = Math.floor((summaries[o]! - from) / bucketMs);
      if (summaries[o + 1]! <= to && (wholePages || first === Math.floor((summaries[o + 1]! - from) / bucketMs))) {
        enter(first);
        if (summaries[o + 2]! < min) min = summaries[o + 2]!;
        if (summaries[o + 3]! > max) max = summaries[o + 3]!;
        sum += summaries[o + 4]!;
        n += summaries[o + 5]!;
        i += summaries[o + 5]!;
        continue;
      }
    }
    const b = Math.floor(i / BLOCK_ROWS);
    if (b !== blockNo) {
      blockNo = b;
      block = reader.block(b);
    }
    const at = (i - b * BLOCK_ROWS) * 2;
    const t = block[at]!;
    if (t > to) break;
    const v = block[at + 1]!;
    enter(Math.floor((t - from) / bucketMs));
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    n++;
    i++;
  }
  flush();
  return out;
}
