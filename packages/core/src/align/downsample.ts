import { BLOCK_ROWS, SUMMARY_FIELDS, SUMMARY_ROWS } from '../index-format/index.js';
import type { RowSource } from '../index-format/index.js';
import type { BucketSeries } from '../types.js';

/**
 * At most `maxPoints` time buckets over [from, to], each with the min, max and
 * mean of its readings, so a one-sample spike still shows at any zoom level.
 * Empty buckets are left out (a gap stays a gap on the chart).
 *
 * Pages of 256 rows that fall wholly inside one bucket are taken from their
 * precomputed summary, so a long range costs a pass over summaries, not over
 * every reading. Only a page that straddles a bucket edge is read row by row,
 * and then alone (256 rows) when buckets span pages: the result is exact, and a
 * cold whole-span query reads about one page per bucket.
 */
export function downsampleReader(reader: RowSource, from: number, to: number, maxPoints: number): BucketSeries {
  const bucketMs = bucketWidth(from, to, maxPoints);
  const buckets = new Buckets(reader.meta.signal, from, to, bucketMs);
  const rows = reader.rows;
  const summaries = reader.summaries();
  const meta = reader.meta;
  const pageMs =
    rows > SUMMARY_ROWS && meta.first !== null && meta.last !== null
      ? ((meta.last - meta.first) / rows) * SUMMARY_ROWS
      : Infinity;
  // Narrow buckets read every row: whole blocks then cost fewer reads than pages.
  const byPage = bucketMs >= pageMs;
  const unit = byPage ? SUMMARY_ROWS : BLOCK_ROWS;

  let i = reader.indexAtOrAfter(from);
  while (i < rows) {
    if (i % SUMMARY_ROWS === 0) {
      const taken = buckets.addPages(summaries, i / SUMMARY_ROWS);
      if (taken > 0) {
        i += taken;
        continue;
      }
    }
    // Row by row to the end of this page (where a summary may apply again) or of the range.
    const no = Math.floor(i / unit);
    const source = byPage ? reader.page(no) : reader.block(no);
    const pageEnd = Math.min(rows, (Math.floor(i / SUMMARY_ROWS) + 1) * SUMMARY_ROWS);
    const first = no * unit;
    if (!buckets.addRows(source, (i - first) * 2, (pageEnd - first) * 2)) break;
    i = pageEnd;
  }
  return buckets.finish();
}

/** The width of each of at most `maxPoints` buckets over [from, to] (ms). */
export function bucketWidth(from: number, to: number, maxPoints: number): number {
  return Math.max(1, Math.ceil((to - from + 1) / maxPoints));
}

/**
 * The buckets being filled. Small methods rather than one large loop: V8 optimises
 * them within the first query, where one large function ran interpreted for the
 * first few whole-span queries after a restart (about 60 ms each).
 */
class Buckets {
  private readonly out: BucketSeries;
  private current = -1;
  private min = Infinity;
  private max = -Infinity;
  private sum = 0;
  private n = 0;

  constructor(
    signal: string,
    private readonly from: number,
    private readonly to: number,
    private readonly bucketMs: number,
  ) {
    this.out = { signal, bucketMs, t: [], min: [], max: [], mean: [] };
  }

  /**
   * Adds consecutive whole pages from page `p` on, as long as each lies inside one
   * bucket and the range; returns the rows taken (0 when page `p` must be read row by row).
   */
  addPages(summaries: Float64Array, p: number): number {
    let taken = 0;
    for (let o = p * SUMMARY_FIELDS; o < summaries.length; o += SUMMARY_FIELDS) {
      const last = summaries[o + 1]!;
      const bucket = Math.floor((summaries[o]! - this.from) / this.bucketMs);
      if (last > this.to || bucket !== Math.floor((last - this.from) / this.bucketMs)) break;
      if (bucket !== this.current) this.open(bucket);
      if (summaries[o + 2]! < this.min) this.min = summaries[o + 2]!;
      if (summaries[o + 3]! > this.max) this.max = summaries[o + 3]!;
      this.sum += summaries[o + 4]!;
      this.n += summaries[o + 5]!;
      taken += summaries[o + 5]!;
    }
    return taken;
  }

  /** Adds rows `[t, v, ...]` of `source` from index `at` to `end`; false once past the range. */
  addRows(source: Float64Array, at: number, end: number): boolean {
    for (; at < end; at += 2) {
      const t = source[at]!;
      if (t > this.to) return false;
      const bucket = Math.floor((t - this.from) / this.bucketMs);
      if (bucket !== this.current) this.open(bucket);
      const v = source[at + 1]!;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      this.sum += v;
      this.n++;
    }
    return true;
  }

  finish(): BucketSeries {
    this.flush();
    return this.out;
  }

  private open(bucket: number): void {
    this.flush();
    this.current = bucket;
    this.min = Infinity;
    this.max = -Infinity;
    this.sum = 0;
    this.n = 0;
  }

  private flush(): void {
    if (this.n === 0) return;
    this.out.t.push(this.from + this.current * this.bucketMs);
    this.out.min.push(this.min);
    this.out.max.push(this.max);
    this.out.mean.push(this.sum / this.n);
  }
}
