import { REJECT_REASONS, type RejectCounts, type RejectReason } from '../types.js';
import { parseTimestamp, parseValue, trimEnd, trimStart } from './fields.js';

export function emptyRejectCounts(): RejectCounts {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as RejectCounts;
}

/**
 * Collects one file's readings in file order, and the reasons for every line
 * that did not become one. `finish()` then sorts and de-duplicates.
 */
export class ReadingBuilder {
  private t = new Float64Array(4096);
  private v = new Float64Array(4096);
  length = 0;
  linesRead = 0;
  readonly rejected = emptyRejectCounts();

  constructor(private readonly utcOffsetMs = 0) {}

  reject(reason: RejectReason): void {
    this.linesRead++;
    this.rejected[reason]++;
  }

  /** One data line split into its two fields (byte ranges of `buf`). */
  addFields(buf: Uint8Array, tsStart: number, tsEnd: number, valueStart: number, valueEnd: number): void {
    const t = parseTimestamp(buf, tsStart, tsEnd, this.utcOffsetMs);
    if (Number.isNaN(t)) return this.reject('bad_timestamp');
    const value = parseValue(buf, valueStart, valueEnd);
    if (typeof value !== 'number') return this.reject(value);
    this.linesRead++;
    if (this.length === this.t.length) this.grow();
    this.t[this.length] = t;
    this.v[this.length] = value;
    this.length++;
  }

  /** A line with no separator: blank, or a wrong column count. */
  addUnsplitLine(buf: Uint8Array, start: number, end: number): void {
    const s = trimStart(buf, start, end);
    this.reject(trimEnd(buf, s, end) === s ? 'blank_line' : 'wrong_column_count');
  }

  private grow(): void {
    const t = new Float64Array(this.t.length * 2);
    const v = new Float64Array(this.v.length * 2);
    t.set(this.t);
    v.set(this.v);
    this.t = t;
    this.v = v;
  }

  /**
   * Readings sorted by time with one reading per timestamp: an exact repeat is a
   * `duplicate`; a repeat with another value loses to the later line (`superseded`).
   */
  finish(): FinishedReadings {
    const n = this.length;
    const t = this.t;
    const v = this.v;
    let outOfOrder = 0;
    let latest = -Infinity;
    for (let i = 0; i < n; i++) {
      if (t[i]! < latest) outOfOrder++;
      else latest = t[i]!;
    }
    let order: Uint32Array | null = null;
    if (outOfOrder > 0) {
      order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      // Stable by file order within a timestamp, so "the later line wins" holds after sorting.
      order.sort((a, b) => t[a]! - t[b]! || a - b);
    }
    const rows = new Float64Array(n * 2);
    let kept = 0;
    for (let k = 0; k < n; k++) {
      const i = order ? order[k]! : k;
      const ti = t[i]!;
      const vi = v[i]!;
      if (kept > 0 && rows[(kept - 1) * 2] === ti) {
        const previous = rows[(kept - 1) * 2 + 1]!;
        this.rejected[Object.is(previous, vi) || previous === vi ? 'duplicate' : 'superseded']++;
        rows[(kept - 1) * 2 + 1] = vi;
        continue;
      }
      rows[kept * 2] = ti;
      rows[kept * 2 + 1] = vi;
      kept++;
    }
    return {
      rows: kept === n ? rows : rows.slice(0, kept * 2),
      count: kept,
      linesRead: this.linesRead,
      rejected: this.rejected,
      outOfOrder,
    };
  }
}

export interface FinishedReadings {
  /** Interleaved `[t0, v0, t1, v1, ...]`, sorted by time, unique timestamps. */
  rows: Float64Array;
  count: number;
  linesRead: number;
  rejected: RejectCounts;
  outOfOrder: number;
}
