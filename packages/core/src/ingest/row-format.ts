/**
 * How an index stores its rows on disk. Writing the index is a large share of
 * indexing (page-cache writes run at 0.5-1.3 GB/s on the 2-core machines), so rows
 * are stored in 8 bytes where that loses nothing:
 *
 * - `compact`: per row a uint32 of milliseconds since the first time of the row's
 *   4,096-row block (`meta.blockStarts`) and an int32 of the value times 10^scale.
 *   Chosen only when every row round-trips exactly: decoding computes
 *   `m / 10^scale`, the same correctly rounded division the parser did.
 * - `wide`: float64 `[t, v]`, 16 bytes, for anything else (sub-millisecond times,
 *   blocks spanning more than 49 days, values with more decimals or past int32).
 *
 * Rows stay fixed-size either way, so row `i` is at `i * rowBytes` and a block is one read.
 */
import { POW10 } from './fields.js';

export type RowFormat = { kind: 'wide' } | { kind: 'compact'; scale: number };

/** Rows per block: the unit of reading and caching, and the span of one compact time base. */
export const BLOCK_ROWS = 4096;
const WIDE_BYTES = 16;
const COMPACT_BYTES = 8;
/** -0 has no int32 of its own; this one stands for it (values are kept bit for bit, sign of zero too). */
const NEGATIVE_ZERO = -2_147_483_648;
/** Decimals tried beyond what the scanner saw (values from the general parser). */
const MAX_SCALE = 9;

export function rowBytes(format: RowFormat): number {
  return format.kind === 'compact' ? COMPACT_BYTES : WIDE_BYTES;
}

/**
 * The smallest format that holds rows `[t0, v0, ...]` exactly, and the rows encoded
 * in it (valid until the next call on this thread). `decimals` is the most decimals
 * the parser saw; values it did not see are checked all the same.
 */
export function encodeSmallest(rows: Float64Array, count: number, blockStarts: readonly number[], decimals: number): { format: RowFormat; bytes: Uint8Array } {
  const buffer = scratchBytes(count * COMPACT_BYTES);
  const times = new Uint32Array(buffer, 0, count * 2);
  const values = new Int32Array(buffer, 0, count * 2);
  for (let scale = Math.max(0, decimals); scale <= MAX_SCALE; scale++) {
    const failed = encodeInto(rows, count, 0, blockStarts, scale, times, values, true);
    if (failed < 0) return { format: { kind: 'compact', scale }, bytes: new Uint8Array(buffer, 0, count * COMPACT_BYTES) };
    // A time that does not fit will not fit at any scale.
    const dt = rows[failed * 2]! - blockStarts[Math.floor(failed / BLOCK_ROWS)]!;
    if (dt >>> 0 !== dt) break;
  }
  return { format: { kind: 'wide' }, bytes: new Uint8Array(rows.buffer, rows.byteOffset, count * WIDE_BYTES) };
}

/**
 * Encodes rows into `times`/`values` (interleaved views of one buffer) when `write`,
 * checking every row: returns the first row that does not fit, or -1. One pass a
 * block, with the block's time base in a local: this runs once per reading.
 */
function encodeInto(rows: Float64Array, count: number, firstRow: number, blockStarts: readonly number[], scale: number, times: Uint32Array, values: Int32Array, write: boolean): number {
  const pow = POW10[scale]!;
  for (let i = 0; i < count; ) {
    const block = Math.floor((firstRow + i) / BLOCK_ROWS);
    const base = blockStarts[block]!;
    const end = Math.min(count, (block + 1) * BLOCK_ROWS - firstRow);
    for (; i < end; i++) {
      const dt = rows[i * 2]! - base;
      const v = rows[i * 2 + 1]!;
      const m = Math.round(v * pow);
      if (dt >>> 0 !== dt) return i;
      if (!(m > NEGATIVE_ZERO && m < 2_147_483_648 && m / pow === v)) return i;
      if (write) {
        times[i * 2] = dt;
        // -0 passes the check above (m / pow === -0 is true of m = 0) and gets its own code.
        values[i * 2 + 1] = m === 0 && 1 / v < 0 ? NEGATIVE_ZERO : m;
      }
    }
  }
  return -1;
}

/** One reusable scratch buffer per thread for encoding and decoding. */
let scratch = new ArrayBuffer(1 << 16);

function scratchBytes(bytes: number): ArrayBuffer {
  if (scratch.byteLength < bytes) scratch = new ArrayBuffer(Math.max(bytes, scratch.byteLength * 2));
  return scratch;
}

/**
 * Rows as stored bytes, or null when `format` cannot hold them (a live append whose
 * new rows do not fit: the caller rebuilds). The bytes are valid until the next call.
 */
export function encodeRows(rows: Float64Array, count: number, firstRow: number, blockStarts: readonly number[], format: RowFormat): Uint8Array | null {
  if (format.kind === 'wide') return new Uint8Array(rows.buffer, rows.byteOffset, count * WIDE_BYTES);
  const buffer = scratchBytes(count * COMPACT_BYTES);
  const times = new Uint32Array(buffer, 0, count * 2);
  const values = new Int32Array(buffer, 0, count * 2);
  if (encodeInto(rows, count, firstRow, blockStarts, format.scale, times, values, true) >= 0) return null;
  return new Uint8Array(buffer, 0, count * COMPACT_BYTES);
}

/**
 * Stored rows back to `[t, v, ...]`. `firstRow` is the signal row of `bytes`' first
 * row; all rows must lie in that row's block (a block or a page is read at a time).
 */
export function decodeRows(bytes: Uint8Array, count: number, firstRow: number, blockStarts: readonly number[], format: RowFormat, into: Float64Array): Float64Array {
  if (format.kind === 'wide') {
    new Uint8Array(into.buffer, into.byteOffset, count * WIDE_BYTES).set(bytes.subarray(0, count * WIDE_BYTES));
    return into;
  }
  const base = blockStarts[Math.floor(firstRow / BLOCK_ROWS)]!;
  const times = new Uint32Array(bytes.buffer, bytes.byteOffset, count * 2);
  const values = new Int32Array(bytes.buffer, bytes.byteOffset, count * 2);
  const pow = POW10[format.scale]!;
  for (let i = 0; i < count; i++) {
    into[i * 2] = base + times[i * 2]!;
    const m = values[i * 2 + 1]!;
    into[i * 2 + 1] = m === NEGATIVE_ZERO ? -0 : m / pow;
  }
  return into;
}

/** A scratch byte buffer for reading `bytes` stored bytes (valid until the next call on this thread). */
export function readScratch(bytes: number): Uint8Array {
  return new Uint8Array(scratchBytes(bytes), 0, bytes);
}
