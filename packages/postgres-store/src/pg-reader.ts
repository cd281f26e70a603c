import {
  BLOCK_ROWS,
  lastAtOrBefore,
  RowsNotReadyError,
  SUMMARY_FIELDS,
  SUMMARY_ROWS,
  type DescribedMeta,
  type Lru,
  type RowNeed,
  type RowSource,
} from '@bess/core/store-kit';
import type { Series } from '@bess/core';

let nextUid = 0;
const PAGES_PER_BLOCK = BLOCK_ROWS / SUMMARY_ROWS;

/**
 * One signal of the PostgreSQL store: its page rollups (loaded once, then extended as the signal
 * grows) plan every query, and the pages a query needs are fetched before it runs and kept in a
 * shared cache. Asked for a page that is not there, it throws RowsNotReadyError (fetch again).
 *
 * Pages before `base` have had their readings dropped by retention: rows, pages and blocks here
 * count from the first retained page, as a files store whose CSVs begin there would.
 */
export class PgSignalReader implements RowSource {
  /** Tells this reader's pages apart in the shared cache (a rewritten signal gets a new reader). */
  readonly uid = nextUid++;
  /** Rollups of the stored pages from `origin` on (a block boundary). */
  private summaryData = new Float64Array(0);
  private origin = 0;
  /** Retained rows the loaded rollups cover, or -1 before the first load. */
  private loadedRows = -1;
  private view = new Float64Array(0);

  constructor(
    readonly deviceId: string,
    public meta: DescribedMeta,
    readonly generation: number,
    private readonly cache: Lru<Float64Array>,
    /** The first stored page whose readings are retained. */
    private base = 0,
  ) {}

  get rows(): number {
    return this.meta.rows;
  }

  /** New metadata of the same generation (grown, or retention moved its start). */
  update(meta: DescribedMeta, base: number): void {
    this.meta = meta;
    if (base !== this.base) {
      this.base = base;
      this.reframe();
    }
  }

  /** Whether the rollups cover every row the metadata counts. */
  get summariesCurrent(): boolean {
    return this.loadedRows === this.meta.rows;
  }

  /** Rollups from stored block `fromBlock` on, and the metadata they were read with (one snapshot). */
  acceptSummaries(fromBlock: number, rows: Float64Array, meta: DescribedMeta, base: number): void {
    const fromPage = fromBlock * PAGES_PER_BLOCK;
    if (this.loadedRows < 0 || fromPage < this.origin) {
      this.summaryData = new Float64Array(0);
      this.origin = fromPage;
    }
    const keep = (fromPage - this.origin) * SUMMARY_FIELDS;
    const next = new Float64Array(keep + rows.length);
    next.set(this.summaryData.subarray(0, keep));
    next.set(rows, keep);
    this.summaryData = next;
    this.base = base;
    this.meta = meta;
    this.reframe();
  }

  /** The retained pages' rollups, and the rows they count (none loaded: retention moved before them). */
  private reframe(): void {
    const from = (this.base - this.origin) * SUMMARY_FIELDS;
    if (from < 0) {
      this.view = new Float64Array(0);
      this.loadedRows = -1;
      return;
    }
    this.view = this.summaryData.subarray(Math.min(from, this.summaryData.length));
    let count = 0;
    for (let o = 5; o < this.view.length; o += SUMMARY_FIELDS) count += this.view[o]!;
    this.loadedRows = count;
  }

  /** The first stored block whose rollups may still change (the last one), for an incremental load. */
  get reloadFromBlock(): number {
    const firstRetained = Math.floor(this.base / PAGES_PER_BLOCK);
    if (this.loadedRows < 0 || this.summaryData.length === 0) return firstRetained;
    const lastPage = this.origin + this.summaryData.length / SUMMARY_FIELDS - 1;
    return Math.max(firstRetained, Math.floor(lastPage / PAGES_PER_BLOCK));
  }

  /** The first time of block `reloadFromBlock` when it is loaded (-Infinity otherwise: the block number selects it). */
  get reloadFromTime(): number {
    const at = (this.reloadFromBlock * PAGES_PER_BLOCK - this.origin) * SUMMARY_FIELDS;
    return this.loadedRows < 0 || at < 0 || at >= this.summaryData.length ? -Infinity : this.summaryData[at]!;
  }

  summaries(): Float64Array {
    if (!this.summariesCurrent) throw new RowsNotReadyError(this.meta.signal, -1);
    return this.view;
  }

  page(p: number): Float64Array {
    const n = this.summaries()[p * SUMMARY_FIELDS + 5];
    if (n === undefined) throw new RangeError(`page ${p} of ${this.meta.signal} is past its end`);
    return this.cache.get(this.pageKey(p, n), () => {
      throw new RowsNotReadyError(this.meta.signal, p);
    });
  }

  /** The cache key of retained page `p` at `n` rows (by stored page: retention moving `base` keeps it valid). */
  pageKey(p: number, n: number): string {
    return `${this.uid}:${this.base + p}:${n}`;
  }

  /** Accepts a fetched page (rows beyond the rollup's count are a later append, left for later). */
  acceptPage(p: number, rows: Float64Array): void {
    const n = this.view[p * SUMMARY_FIELDS + 5];
    if (n === undefined || rows.length < n * 2) return;
    const key = this.pageKey(p, n);
    this.cache.get(key, () => rows.subarray(0, n * 2));
  }

  block(b: number): Float64Array {
    const first = b * PAGES_PER_BLOCK;
    const pages = Math.min(PAGES_PER_BLOCK, this.summaries().length / SUMMARY_FIELDS - first);
    const length = Math.min(BLOCK_ROWS, this.rows - b * BLOCK_ROWS);
    return this.cache.get(`${this.uid}:b${this.base}:${b}:${length}`, () => {
      const out = new Float64Array(length * 2);
      for (let k = 0; k < pages; k++) out.set(this.page(first + k), k * SUMMARY_ROWS * 2);
      return out;
    });
  }

  indexAtOrBefore(t: number): number {
    const p = lastPageStartingBy(this.summaries(), t);
    if (p < 0) return -1;
    return p * SUMMARY_ROWS + lastAtOrBefore(this.page(p), t);
  }

  indexAtOrAfter(t: number): number {
    const i = this.indexAtOrBefore(t);
    if (i >= 0 && this.time(i) === t) return i;
    return i + 1;
  }

  time(i: number): number {
    return this.page(Math.floor(i / SUMMARY_ROWS))[(i % SUMMARY_ROWS) * 2]!;
  }

  value(i: number): number {
    return this.page(Math.floor(i / SUMMARY_ROWS))[(i % SUMMARY_ROWS) * 2 + 1]!;
  }

  copyRows(first: number, count: number): Series {
    const t = new Float64Array(count);
    const v = new Float64Array(count);
    for (let k = 0; k < count;) {
      const row = first + k;
      const page = this.page(Math.floor(row / SUMMARY_ROWS));
      for (let at = (row % SUMMARY_ROWS) * 2; k < count && at < page.length; k++, at += 2) {
        t[k] = page[at]!;
        v[k] = page[at + 1]!;
      }
    }
    return { t, v };
  }

  /** The pages `need` will read, from the rollups alone (the shared query code's access pattern). */
  pagesFor(need: RowNeed<PgSignalReader>, into: Set<number>): void {
    const s = this.summaries();
    const pages = s.length / SUMMARY_FIELDS;
    if (pages === 0) return;
    const add = (p: number): void => {
      if (p >= 0 && p < pages) into.add(p);
    };
    if (need.kind === 'asOf') {
      // The page holding the last reading at or before each time, and the next (the walk forward peeks at it).
      for (const t of need.times) {
        const p = Math.max(0, lastPageStartingBy(s, t));
        add(p);
        add(p + 1);
      }
      return;
    }
    const p0 = Math.max(0, lastPageStartingBy(s, need.from));
    if (need.kind === 'range') {
      const p1 = lastPageStartingBy(s, need.to);
      for (let p = p0; p <= p1; p++) add(p);
      return;
    }
    this.downsamplePages(s, p0, need.from, need.to, need.bucketMs, add);
  }

  /** As downsampleReader reads: whole pages inside one bucket come from their rollups, the rest row by row. */
  private downsamplePages(
    s: Float64Array,
    p0: number,
    from: number,
    to: number,
    bucketMs: number,
    add: (p: number) => void,
  ): void {
    const pages = s.length / SUMMARY_FIELDS;
    const { first, last } = this.meta;
    const pageMs =
      this.rows > SUMMARY_ROWS && first !== null && last !== null
        ? ((last - first) / this.rows) * SUMMARY_ROWS
        : Infinity;
    add(p0);
    if (bucketMs < pageMs) {
      // Narrow buckets read whole blocks.
      const pEnd = Math.min(pages - 1, lastPageStartingBy(s, to) + 1);
      const per = PAGES_PER_BLOCK;
      for (let p = Math.floor(p0 / per) * per; p <= Math.min(pages - 1, (Math.floor(pEnd / per) + 1) * per - 1); p++)
        add(p);
      return;
    }
    const bucket = (t: number): number => Math.floor((t - from) / bucketMs);
    for (let p = p0; p < pages; p++) {
      const tFirst = s[p * SUMMARY_FIELDS]!;
      const tLast = s[p * SUMMARY_FIELDS + 1]!;
      if (tFirst > to) {
        add(p);
        break;
      }
      if (tFirst < from || tLast > to || bucket(tFirst) !== bucket(tLast)) add(p);
      if (tLast > to) break;
    }
  }
}

/** The last page whose first reading is at or before `t`, or -1. */
function lastPageStartingBy(summaries: Float64Array, t: number): number {
  let lo = 0;
  let hi = summaries.length / SUMMARY_FIELDS - 1;
  if (hi < 0 || summaries[0]! > t) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (summaries[mid * SUMMARY_FIELDS]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
