import { REJECT_REASONS, type RejectCounts, type RejectReason } from '../types.js';
import { parseTimestamp, parseValue, trimEnd, trimStart } from './fields.js';

/**
 * Row buffers reused from file to file on this thread. A worker indexes
 * thousands of files; fresh 40 MB arrays for each left the garbage collector
 * behind (peak RSS 354 MB on the 7.9 GB set, 229 MB with a collection forced
 * after every file, at half the speed). Reuse gets the low peak at full speed.
 * One spare is enough: a sorted file uses one buffer, and only an out-of-order
 * file needs a second for the time it is sorted.
 */
const spareBuffers: Float64Array[] = [];
const MAX_SPARES = 1;
/**
 * Large buffers are allocated in steps of 8 MiB: files of nearly the same size (a cabinet's
 * 47 MB PCS files differ by kilobytes) then fit the same spare. Allocated to the exact size,
 * each slightly larger file took a new buffer while the spare waited for the collector: two
 * 35 MB buffers a worker instead of one.
 */
const ROWS_STEP = 1 << 20;

function acquireRows(length: number): Float64Array {
  let best = -1;
  for (let i = 0; i < spareBuffers.length; i++) {
    if (spareBuffers[i]!.length >= length && (best < 0 || spareBuffers[i]!.length < spareBuffers[best]!.length))
      best = i;
  }
  if (best >= 0) return spareBuffers.splice(best, 1)[0]!;
  return new Float64Array(length <= ROWS_STEP ? length : Math.ceil(length / ROWS_STEP) * ROWS_STEP);
}

function releaseRows(buffer: Float64Array): void {
  spareBuffers.push(buffer);
  if (spareBuffers.length > MAX_SPARES) {
    spareBuffers.sort((a, b) => b.length - a.length);
    spareBuffers.length = MAX_SPARES;
  }
}

function emptyRejectCounts(): RejectCounts {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as RejectCounts;
}

/**
 * Collects one file's readings in file order, and the reasons for every line
 * that did not become one. `finish()` then sorts and de-duplicates.
 */
export class ReadingBuilder {
  /** Interleaved `[t, v, ...]` in file order: the index's own layout, so sorted files need no copy. */
  private rows: Float64Array;
  length = 0;
  linesRead = 0;
  readonly rejected = emptyRejectCounts();
  /** The latest time so far, and how many readings did not come after it (then `finish` must sort or merge). */
  lastTime = -Infinity;
  private disorder = 0;
  /** The most decimals of a value the scanner's fast path read (the index's compact row format starts there). */
  decimals = 0;

  constructor(
    readonly utcOffsetMs = 0,
    /** Expected readings (at most: see mostReadings), to avoid regrowing. */
    capacity = 4096,
  ) {
    this.rows = acquireRows(Math.max(16, Math.ceil(capacity)) * 2);
  }

  /** Gives the buffer back unused (the file is being read another way). */
  discard(): void {
    releaseRows(this.rows);
    this.length = 0;
  }

  reject(reason: RejectReason): void {
    this.linesRead++;
    this.rejected[reason]++;
  }

  /** One data line split into its two fields (byte ranges of `buf`). */
  addFields(buf: Uint8Array, tsStart: number, tsEnd: number, valueStart: number, valueEnd: number): void {
    const t = parseTimestamp(buf, tsStart, tsEnd, this.utcOffsetMs);
    if (Number.isNaN(t)) return this.reject('bad_timestamp');
    this.addTimedValue(t, buf, valueStart, valueEnd);
  }

  /** A line whose timestamp the scanner already parsed. */
  addTimedValue(t: number, buf: Uint8Array, valueStart: number, valueEnd: number): void {
    const value = parseValue(buf, valueStart, valueEnd);
    if (typeof value !== 'number') return this.reject(value);
    this.linesRead++;
    if (this.length * 2 === this.rows.length) this.grow(this.rows.length);
    if (t <= this.lastTime) this.disorder++;
    else this.lastTime = t;
    this.rows[this.length * 2] = t;
    this.rows[this.length * 2 + 1] = value;
    this.length++;
  }

  /** A line with no separator: blank, or a wrong column count. */
  addUnsplitLine(buf: Uint8Array, start: number, end: number): void {
    const s = trimStart(buf, start, end);
    this.reject(trimEnd(buf, s, end) === s ? 'blank_line' : 'wrong_column_count');
  }

  /**
   * The row buffer, with room for `rows` more readings: the scanner's fast path
   * writes `[t, v]` pairs into it directly, then reports them with `commitFast`.
   */
  reserve(rows: number): Float64Array {
    const needed = (this.length + rows) * 2;
    if (needed > this.rows.length) this.grow(Math.max(this.rows.length, needed - this.rows.length));
    return this.rows;
  }

  /** Readings the fast path wrote: the new length, how many it added, the latest time, how many were not after it, and their most decimals. */
  commitFast(length: number, accepted: number, lastTime: number, disorder: number, decimals: number): void {
    if (decimals > this.decimals) this.decimals = decimals;
    this.length = length;
    this.linesRead += accepted;
    this.lastTime = lastTime;
    this.disorder += disorder;
  }

  private grow(extra: number): void {
    const rows = acquireRows(this.rows.length + extra);
    rows.set(this.rows);
    releaseRows(this.rows);
    this.rows = rows;
  }

  /**
   * Readings sorted by time with one reading per timestamp: an exact repeat is a
   * `duplicate`; a repeat with another value loses to the later line (`superseded`).
   */
  finish(): FinishedReadings {
    const n = this.length;
    const input = this.rows;
    if (this.disorder === 0) return this.finished(input, n, 0);
    let outOfOrder = 0;
    let latest = -Infinity;
    for (let i = 0; i < n; i++) {
      const t = input[i * 2]!;
      if (t < latest) outOfOrder++;
      else latest = t;
    }
    // Sorted input is compacted in place; otherwise rows are copied out in time order,
    // stable by file order within a timestamp so "the later line wins" holds.
    let order: Uint32Array | null = null;
    let rows = input;
    if (outOfOrder > 0) {
      order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => input[a * 2]! - input[b * 2]! || a - b);
      rows = acquireRows(n * 2);
    }
    let kept = 0;
    for (let k = 0; k < n; k++) {
      const i = order ? order[k]! : k;
      const ti = input[i * 2]!;
      const vi = input[i * 2 + 1]!;
      if (kept > 0 && rows[(kept - 1) * 2] === ti) {
        const previous = rows[(kept - 1) * 2 + 1]!;
        this.rejected[previous === vi ? 'duplicate' : 'superseded']++;
        rows[(kept - 1) * 2 + 1] = vi;
        continue;
      }
      rows[kept * 2] = ti;
      rows[kept * 2 + 1] = vi;
      kept++;
    }
    if (rows !== input) releaseRows(input);
    return this.finished(rows, kept, outOfOrder);
  }

  private finished(rows: Float64Array, count: number, outOfOrder: number): FinishedReadings {
    return {
      rows: rows.subarray(0, count * 2),
      count,
      decimals: this.decimals,
      linesRead: this.linesRead,
      rejected: this.rejected,
      outOfOrder,
      release: () => releaseRows(rows),
    };
  }
}

export interface FinishedReadings {
  /** Interleaved `[t0, v0, t1, v1, ...]`, sorted by time, unique timestamps. */
  rows: Float64Array;
  count: number;
  /** The most decimals seen by the scanner's fast path. */
  decimals: number;
  linesRead: number;
  rejected: RejectCounts;
  outOfOrder: number;
  /** Hands the rows' buffer back for the next file; `rows` must not be used after. */
  release(): void;
}
