import { closeSync, openSync } from 'node:fs';
import {
  BLOCK_ROWS,
  readFully,
  readRows,
  summarize,
  SUMMARY_FIELDS,
  SUMMARY_ROWS,
  summaryPages,
  type IndexMeta,
} from './index-files.js';
import { Lru } from '../lru.js';
import { IndexDamagedError } from '../types.js';
import type { RowSource } from './row-source.js';

/** Decoded index blocks of all signals, bounded in bytes however large the dataset is. */
export class BlockCache extends Lru<Float64Array> {
  constructor(maxBytes: number) {
    super(maxBytes, (block) => block.byteLength);
  }
}

/** Open file descriptors, capped so a dataset of thousands of signals stays under the process limit. */
class DescriptorPool {
  private readonly open = new Lru<number>(
    256,
    () => 1,
    (fd) => closeSync(fd),
  );

  fd(path: string): number {
    return this.open.get(path, () => openSync(path, 'r'));
  }

  forget(path: string): void {
    this.open.delete(path);
  }

  closeAll(): void {
    this.open.clear();
  }
}

const descriptors = new DescriptorPool();
let nextReaderId = 0;

/**
 * Random access to one signal's index: rows are found by a binary search over
 * the block start times held in memory, then inside one cached 64 KiB block.
 */
export class SignalReader implements RowSource {
  /** Distinguishes rebuilt indexes in the cache (a rebuilt file gets a new reader). */
  private readonly id = nextReaderId++;

  readonly sumPath: string;

  constructor(
    readonly binPath: string,
    public meta: IndexMeta,
    private readonly cache: BlockCache,
    /** Told when rows read from disk do not match their summaries (the read then throws IndexDamagedError). */
    private readonly onDamaged: () => void = () => {},
  ) {
    this.sumPath = binPath.replace(/\.bin$/, '.sum');
  }

  /** Rows [first, first + length) read from disk, checked against their pages' summaries. */
  private load(first: number, length: number): Float64Array {
    try {
      const rows = readRows(descriptors.fd(this.binPath), this.binPath, this.meta, first, length);
      this.verify(rows, first, length);
      return rows;
    } catch (error) {
      this.onDamaged();
      // Shorter than its meta says, or unreadable: as damaged as wrong bytes.
      throw error instanceof IndexDamagedError
        ? error
        : new IndexDamagedError(this.binPath, Math.floor(first / SUMMARY_ROWS));
    }
  }

  /**
   * Each full page's summary (first and last time, min, max, sum, count; written with its rows
   * and never rewritten) is recomputed from the rows as read: damaged bytes change at least one.
   * A partial last page is left out, since a live append rewrites its summary as it grows.
   */
  private verify(rows: Float64Array, first: number, length: number): void {
    const firstPage = first / SUMMARY_ROWS;
    const fullPages = Math.floor(length / SUMMARY_ROWS);
    if (fullPages === 0 || !Number.isInteger(firstPage)) return;
    const expected = new Float64Array(fullPages * SUMMARY_FIELDS);
    readFully(
      descriptors.fd(this.sumPath),
      new Uint8Array(expected.buffer),
      firstPage * SUMMARY_FIELDS * 8,
      this.sumPath,
    );
    // Summarised as the writer summarised them (same order of sums), so equal rows give equal bits.
    const actual = summarize(rows, fullPages * SUMMARY_ROWS);
    for (let i = 0; i < actual.length; i++) {
      if (actual[i] !== expected[i])
        throw new IndexDamagedError(this.binPath, firstPage + Math.floor(i / SUMMARY_FIELDS));
    }
  }

  get rows(): number {
    return this.meta.rows;
  }

  /** The cache key of block `b` at `length` rows: a block that grew by a live append is a new block. */
  private blockKey(b: number, length: number): string {
    return `${this.id}:${b}:${length}`;
  }

  /** How many rows block `b` holds (the last one may be partial). */
  private blockRows(b: number): number {
    return Math.min(BLOCK_ROWS, this.meta.rows - b * BLOCK_ROWS);
  }

  /** Block `b` if it is cached, without reading it. */
  private cachedBlock(b: number): Float64Array | undefined {
    return this.cache.peek(this.blockKey(b, this.blockRows(b)));
  }

  /** Rows of block `b`, interleaved `[t, v, ...]`. */
  block(b: number): Float64Array {
    const length = this.blockRows(b);
    return this.cache.get(this.blockKey(b, length), () => this.load(b * BLOCK_ROWS, length));
  }

  /**
   * Rows of summary page `p` (256 rows, interleaved `[t, v, ...]`): a view of its
   * block when that is cached, otherwise the page alone (a sixteenth of a block). A
   * downsampled year needs only the pages that straddle bucket edges.
   */
  page(p: number): Float64Array {
    const first = p * SUMMARY_ROWS;
    const b = Math.floor(first / BLOCK_ROWS);
    const length = Math.min(SUMMARY_ROWS, this.meta.rows - first);
    const block = this.cachedBlock(b);
    const at = (first - b * BLOCK_ROWS) * 2;
    if (block) return block.subarray(at, at + length * 2);
    return this.cache.get(`${this.id}:p${p}:${length}`, () => this.load(first, length));
  }

  /**
   * The page summaries (`[tFirst, tLast, min, max, sum, count]` per 256 rows), cached like a block.
   * Keyed by rows, not pages: an append inside the last page rewrites that page's summary.
   */
  summaries(): Float64Array {
    const pages = summaryPages(this.meta.rows);
    return this.cache.get(`${this.id}:sum:${this.meta.rows}`, () => {
      const out = new Float64Array(pages * SUMMARY_FIELDS);
      try {
        readFully(descriptors.fd(this.sumPath), new Uint8Array(out.buffer), 0, this.sumPath);
      } catch {
        this.onDamaged();
        throw new IndexDamagedError(this.sumPath, 0);
      }
      const bad = firstInconsistentPage(out, this.meta);
      if (bad >= 0) {
        this.onDamaged();
        throw new IndexDamagedError(this.sumPath, bad);
      }
      return out;
    });
  }

  time(i: number): number {
    return this.page(Math.floor(i / SUMMARY_ROWS))[(i % SUMMARY_ROWS) * 2]!;
  }

  value(i: number): number {
    return this.page(Math.floor(i / SUMMARY_ROWS))[(i % SUMMARY_ROWS) * 2 + 1]!;
  }

  /** Closes this index's files (it was rebuilt or the dataset closes). */
  release(): void {
    descriptors.forget(this.binPath);
    descriptors.forget(this.sumPath);
  }

  /**
   * Index of the last row at or before `t`, or -1 when every row is later. The block
   * comes from the start times in memory; inside it, a cached block is searched
   * whole, otherwise only the page the signal's period points at (and a neighbour
   * when the guess is off): an as-of lookup on each of 520 cell files then reads
   * one or two 256-row pages per file, not a 4,096-row block.
   */
  indexAtOrBefore(t: number): number {
    const starts = this.meta.blockStarts;
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || starts[0]! > t) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    const firstRow = lo * BLOCK_ROWS;
    const blockRows = this.blockRows(lo);
    const cached = this.cachedBlock(lo);
    if (cached) return firstRow + lastAtOrBefore(cached, t);
    const firstPage = firstRow / SUMMARY_ROWS;
    const pages = Math.ceil(blockRows / SUMMARY_ROWS);
    const period = this.meta.medianPeriodMs ?? 0;
    let k = period > 0 ? Math.min(pages - 1, Math.max(0, Math.floor((t - starts[lo]!) / period / SUMMARY_ROWS))) : 0;
    let page = this.page(firstPage + k);
    // The block's first row is at or before t, so walking back ends; forward, a page whose last row is after t is the one.
    while (k > 0 && page[0]! > t) page = this.page(firstPage + --k);
    while (k < pages - 1 && page[page.length - 2]! <= t) {
      const next = this.page(firstPage + k + 1);
      if (next[0]! > t) break;
      page = next;
      k++;
    }
    return firstRow + k * SUMMARY_ROWS + lastAtOrBefore(page, t);
  }

  /** Rows [first, first + count) copied out as columns, a block at a time. */
  copyRows(first: number, count: number): { t: Float64Array; v: Float64Array } {
    const t = new Float64Array(count);
    const v = new Float64Array(count);
    let k = 0;
    while (k < count) {
      const row = first + k;
      const b = Math.floor(row / BLOCK_ROWS);
      const block = this.block(b);
      const end = Math.min(count, k + (block.length / 2 - (row - b * BLOCK_ROWS)));
      for (let at = (row - b * BLOCK_ROWS) * 2; k < end; k++, at += 2) {
        t[k] = block[at]!;
        v[k] = block[at + 1]!;
      }
    }
    return { t, v };
  }

  /** Index of the first row at or after `t` (may equal `rows`). */
  indexAtOrAfter(t: number): number {
    const i = this.indexAtOrBefore(t);
    if (i >= 0 && this.time(i) === t) return i;
    return i + 1;
  }
}

/**
 * The first page whose summary cannot be right, or -1: counts must be 256 but for the last page,
 * times must rise from page to page and agree with the block starts held in memory, min <= mean <= max.
 * Random or zeroed bytes fail these at once; rows read later are checked against them (verify).
 */
function firstInconsistentPage(summaries: Float64Array, meta: IndexMeta): number {
  const pages = summaries.length / SUMMARY_FIELDS;
  let previousLast = -Infinity;
  for (let p = 0; p < pages; p++) {
    const o = p * SUMMARY_FIELDS;
    const [tFirst, tLast, min, max, sum, count] = [
      summaries[o]!,
      summaries[o + 1]!,
      summaries[o + 2]!,
      summaries[o + 3]!,
      summaries[o + 4]!,
      summaries[o + 5]!,
    ];
    // The last page may already have grown by a live append the meta does not know yet.
    const countOk =
      p < pages - 1 ? count === SUMMARY_ROWS : count >= meta.rows - p * SUMMARY_ROWS && count <= SUMMARY_ROWS;
    const blockStart =
      (p * SUMMARY_ROWS) % BLOCK_ROWS === 0 ? meta.blockStarts[(p * SUMMARY_ROWS) / BLOCK_ROWS] : tFirst;
    const mean = sum / count;
    const ok =
      countOk &&
      tFirst === blockStart &&
      tFirst > previousLast &&
      tLast >= tFirst &&
      min <= max &&
      mean >= min - Math.abs(min) * 1e-9 - 1e-9 &&
      mean <= max + Math.abs(max) * 1e-9 + 1e-9;
    if (!ok) return p;
    previousLast = tLast;
  }
  return -1;
}

/** Index (in rows) of the last row of `rows` (`[t, v, ...]`, sorted, first at or before t) at or before `t`. */
export function lastAtOrBefore(rows: Float64Array, t: number): number {
  let a = 0;
  let b = rows.length / 2 - 1;
  while (a < b) {
    const mid = (a + b + 1) >> 1;
    if (rows[mid * 2]! <= t) a = mid;
    else b = mid - 1;
  }
  return a;
}
