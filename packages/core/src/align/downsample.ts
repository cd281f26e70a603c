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
  // Narrow buckets read every row: whole blocks then cost fewer reads than pages.
  const byPage = bucketMs >= pageMs;

  let sourceNo = -1;
  let source: Float64Array = new Float64Array(0);
  let sourceFirst = 0;
  let i = reader.indexAtOrAfter(from);
  while (i < rows) {
    if (i % SUMMARY_ROWS === 0) {
      const o = (i / SUMMARY_ROWS) * SUMMARY_FIELDS;
      const first = Math.floor((summaries[o]! - from) / bucketMs);
      if (summaries[o + 1]! <= to && first === Math.floor((summaries[o + 1]! - from) / bucketMs)) {
        enter(first);
        if (summaries[o + 2]! < min) min = summaries[o + 2]!;
        if (summaries[o + 3]! > max) max = summaries[o + 3]!;
        sum += summaries[o + 4]!;
        n += summaries[o + 5]!;
        i += summaries[o + 5]!;
        continue;
      }
    }
    const unit = byPage ? SUMMARY_ROWS : BLOCK_ROWS;
    const no = Math.floor(i / unit);
    if (no !== sourceNo) {
      sourceNo = no;
      source = byPage ? reader.page(no) : reader.block(no);
      sourceFirst = no * unit;
    }
    const at = (i - sourceFirst) * 2;
    const t = source[at]!;
    if (t > to) break;
    const v = source[at + 1]!;
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
