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
 * every reading. Only a page that straddles a bucket edge is read row by row,
 * and then alone (4 KiB) when buckets span pages: the result is exact, and a
 * cold whole-span query reads about one page per bucket.
 */
export function downsampleReader(reader: SignalReader, from: number, to: number, maxPoints: number): BucketSeries {
  const bucketMs = Math.max(1, Math.ceil((to - from + 1) / maxPoints));
  const out: BucketSeries = { signal: reader.meta.signal, bucketMs, t: [], min: [], max: [], mean: [] };
  const rows = reader.rows;
  const summaries = reader.summaries();
  const meta = reader.meta;
  const pageMs = rows > SUMMARY_ROWS && meta.first !== null && meta.last !== null ? ((meta.last - meta.first) / rows) * SUMMARY_ROWS : Infinity;
  // Narrow buckets read every row: whole blocks then cost fewer reads than pages.
  const byPage = bucketMs >= pageMs;
  const unit = byPage ? SUMMARY_ROWS : BLOCK_ROWS;

  // The open bucket lives in locals (not closure state): this loop runs per reading.
  let current = -1;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let i = reader.indexAtOrAfter(from);
  scan: while (i < rows) {
    if (i % SUMMARY_ROWS === 0) {
      const o = (i / SUMMARY_ROWS) * SUMMARY_FIELDS;
      const bucket = Math.floor((summaries[o]! - from) / bucketMs);
      if (summaries[o + 1]! <= to && bucket === Math.floor((summaries[o + 1]! - from) / bucketMs)) {
        if (bucket !== current) {
          if (n > 0) push(out, from + current * bucketMs, min, max, sum / n);
          current = bucket;
          min = Infinity;
          max = -Infinity;
          sum = 0;
          n = 0;
        }
        if (summaries[o + 2]! < min) min = summaries[o + 2]!;
        if (summaries[o + 3]! > max) max = summaries[o + 3]!;
        sum += summaries[o + 4]!;
        n += summaries[o + 5]!;
        i += summaries[o + 5]!;
        continue;
      }
    }
    // Row by row to the end of this page (where a summary may apply again) or of the range.
    const no = Math.floor(i / unit);
    const source = byPage ? reader.page(no) : reader.block(no);
    const sourceFirst = no * unit;
    const pageEnd = Math.min(rows, (Math.floor(i / SUMMARY_ROWS) + 1) * SUMMARY_ROWS);
    for (; i < pageEnd; i++) {
      const at = (i - sourceFirst) * 2;
      const t = source[at]!;
      if (t > to) break scan;
      const bucket = Math.floor((t - from) / bucketMs);
      if (bucket !== current) {
        if (n > 0) push(out, from + current * bucketMs, min, max, sum / n);
        current = bucket;
        min = Infinity;
        max = -Infinity;
        sum = 0;
        n = 0;
      }
      const v = source[at + 1]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      n++;
    }
  }
  if (n > 0) push(out, from + current * bucketMs, min, max, sum / n);
  return out;
}

function push(out: BucketSeries, t: number, min: number, max: number, mean: number): void {
  out.t.push(t);
  out.min.push(min);
  out.max.push(max);
  out.mean.push(mean);
}
