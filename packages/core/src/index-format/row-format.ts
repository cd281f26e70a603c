/**
 * How an index stores its rows on disk. Writing the index is a large share of
 * indexing (page-cache writes run at 0.5-1.3 GB/s on the 2-core machines), so rows
 * are stored in 6 or 8 bytes where that loses nothing:
 *
 * - `narrow`: per row a uint32 of milliseconds since the first time of the row's
 *   4,096-row block (`meta.blockStarts`) and an int16 of the value times 10^scale.
 *   Chosen when every value, and the signal's plausible range, fit int16 at that
 *   scale (cell voltages in mV, temperatures in 0.1 degrees: 99.8 % of the rows).
 * - `compact`: the same with an int32 value, 8 bytes.
 * - Both only when every row round-trips exactly: decoding computes `m / 10^scale`,
 *   the same correctly rounded division the parser did.
 * - `wide`: float64 `[t, v]`, 16 bytes, for anything else (sub-millisecond times,
 *   blocks spanning more than 49 days, values with more decimals or past int32).
 *
 * Rows stay fixed-size either way, so row `i` is at `i * rowBytes` and a block is one read.
 */
import { POW10 } from '../pow10.js';

export type RowFormat = { kind: 'wide' } | { kind: 'compact'; scale: number } | { kind: 'narrow'; scale: number };
type ScaledFormat = Extract<RowFormat, { scale: number }>;

/** Rows per block: the unit of reading and caching, and the span of one compact time base. */
export const BLOCK_ROWS = 4096;
const WIDE_BYTES = 16;
/**
 * Each scaled format's value integer: its bytes and the code that stands for -0, which has no
 * integer of its own (values are kept bit for bit, sign of zero too); every other code is a value.
 */
const VALUE_CODES = {
  compact: { bytes: 8, negativeZero: -2_147_483_648, limit: 2_147_483_648 },
  narrow: { bytes: 6, negativeZero: -32_768, limit: 32_768 },
} as const;
/** Decimals tried beyond what the scanner saw (values from the general parser). */
const MAX_SCALE = 9;

export function rowBytes(format: RowFormat): number {
  return format.kind === 'wide' ? WIDE_BYTES : VALUE_CODES[format.kind].bytes;
}

/** Where encoded rows go: `write` appends bytes (valid only during the call), `rewind` empties the output. */
export interface RowSink {
  write(bytes: Uint8Array): void;
  rewind(): void;
}

/**
 * Writes rows `[t0, v0, ...]` in the smallest format that holds them exactly and
 * returns it. Encoding and checking are one pass: rows are encoded at the scale of
 * the most decimals the parser saw (`decimals`) and written piece by piece; a row
 * that does not fit (a value the parser's fast path did not see, a time past a
 * block's 49 days) rewinds the output and starts again at the next scale, or wide.
 * `valueBound` is the largest magnitude the signal's values are expected to take
 * (read and plausible): int16 values only when it fits too, since a live append
 * past the format's values rebuilds the index.
 */
export function writeSmallest(
  rows: Float64Array,
  count: number,
  blockStarts: readonly number[],
  decimals: number,
  valueBound: number,
  out: RowSink,
): RowFormat {
  for (let scale = Math.max(0, decimals); scale <= MAX_SCALE; scale++) {
    // Below the limit by one: a value at the bound rounds to at most limit - 1.
    const format: ScaledFormat = {
      kind: valueBound * POW10[scale]! < VALUE_CODES.narrow.limit - 1 ? 'narrow' : 'compact',
      scale,
    };
    const failed = writeScaled(rows, count, blockStarts, format, out);
    if (failed < 0) return format;
    out.rewind();
    // A time that does not fit, or a value already past int32, fits no larger scale either.
    const dt = rows[failed * 2]! - blockStarts[Math.floor(failed / BLOCK_ROWS)]!;
    if (dt >>> 0 !== dt || Math.abs(Math.round(rows[failed * 2 + 1]! * POW10[scale]!)) >= VALUE_CODES.compact.limit)
      break;
  }
  writeWide(rows, count, out);
  return { kind: 'wide' };
}

/**
 * Encodes a signal's rows in `format` and writes them to `out` piece by piece through the
 * scratch buffer; stops at the first row that does not fit and returns it (the pieces before it
 * are written), or -1 when all were.
 */
function writeScaled(
  rows: Float64Array,
  count: number,
  blockStarts: readonly number[],
  format: ScaledFormat,
  out: RowSink,
): number {
  const size = rowBytes(format);
  const buffer = scratchBytes(ENCODE_ROWS * size);
  const view = new DataView(buffer);
  for (let from = 0; from < count; from += ENCODE_ROWS) {
    const to = Math.min(count, from + ENCODE_ROWS);
    const failed = encodeInto(rows, from, to, 0, blockStarts, format, view);
    if (failed >= 0) return failed;
    out.write(new Uint8Array(buffer, 0, (to - from) * size));
  }
  return -1;
}

function writeWide(rows: Float64Array, count: number, out: RowSink): void {
  out.write(new Uint8Array(rows.buffer, rows.byteOffset, count * WIDE_BYTES));
}

/**
 * Rows (the first being row `firstRow` of the signal) encoded in `format`, as a live append
 * writes them, or null when one does not fit it (the caller rebuilds the index). Checked and
 * encoded in one pass into a buffer of their own: appends are the rows of a few polls.
 */
export function encodeAppend(
  rows: Float64Array,
  count: number,
  firstRow: number,
  blockStarts: readonly number[],
  format: RowFormat,
): Uint8Array | null {
  if (format.kind === 'wide') return new Uint8Array(rows.buffer, rows.byteOffset, count * WIDE_BYTES);
  const buffer = new ArrayBuffer(count * rowBytes(format));
  const fits = encodeInto(rows, 0, count, firstRow, blockStarts, format, new DataView(buffer)) < 0;
  return fits ? new Uint8Array(buffer) : null;
}

/**
 * Checks rows `[from, to)` of `rows` against `format` and encodes them into `view` (from its
 * start, little-endian): returns the first row that does not fit, or -1. One pass a block, with
 * the block's time base in a local: this runs once per reading.
 */
function encodeInto(
  rows: Float64Array,
  from: number,
  to: number,
  firstRow: number,
  blockStarts: readonly number[],
  format: ScaledFormat,
  view: DataView,
): number {
  const pow = POW10[format.scale]!;
  const { bytes, negativeZero, limit } = VALUE_CODES[format.kind];
  const narrow = format.kind === 'narrow';
  for (let i = from; i < to;) {
    const block = Math.floor((firstRow + i) / BLOCK_ROWS);
    const base = blockStarts[block]!;
    const end = Math.min(to, (block + 1) * BLOCK_ROWS - firstRow);
    for (; i < end; i++) {
      const dt = rows[i * 2]! - base;
      const v = rows[i * 2 + 1]!;
      const m = Math.round(v * pow);
      if (dt >>> 0 !== dt) return i;
      if (!(m > negativeZero && m < limit && m / pow === v)) return i;
      const o = (i - from) * bytes;
      view.setUint32(o, dt, true);
      // -0 passes the check above (m / pow === -0 is true of m = 0) and gets its own code.
      const code = m === 0 && 1 / v < 0 ? negativeZero : m;
      if (narrow) view.setInt16(o + 4, code, true);
      else view.setInt32(o + 4, code, true);
    }
  }
  return -1;
}

/** Rows encoded at a time: the scratch stays small (at most 256 KiB) however large the file. */
const ENCODE_ROWS = 32_768;

/** One reusable scratch buffer per thread for encoding and decoding. */
let scratch = new ArrayBuffer(ENCODE_ROWS * VALUE_CODES.compact.bytes);

function scratchBytes(bytes: number): ArrayBuffer {
  if (scratch.byteLength < bytes) scratch = new ArrayBuffer(Math.max(bytes, scratch.byteLength * 2));
  return scratch;
}

/**
 * Stored rows back to `[t, v, ...]`. `firstRow` is the signal row of `bytes`' first
 * row; all rows must lie in that row's block (a block or a page is read at a time).
 */
export function decodeRows(
  bytes: Uint8Array,
  count: number,
  firstRow: number,
  blockStarts: readonly number[],
  format: RowFormat,
  into: Float64Array,
): Float64Array {
  if (format.kind === 'wide') {
    new Uint8Array(into.buffer, into.byteOffset, count * WIDE_BYTES).set(bytes.subarray(0, count * WIDE_BYTES));
    return into;
  }
  const base = blockStarts[Math.floor(firstRow / BLOCK_ROWS)]!;
  const { bytes: size, negativeZero } = VALUE_CODES[format.kind];
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * size);
  const narrow = format.kind === 'narrow';
  const pow = POW10[format.scale]!;
  for (let i = 0, o = 0; i < count; i++, o += size) {
    into[i * 2] = base + view.getUint32(o, true);
    const m = narrow ? view.getInt16(o + 4, true) : view.getInt32(o + 4, true);
    into[i * 2 + 1] = m === negativeZero ? -0 : m / pow;
  }
  return into;
}

/** A scratch byte buffer for reading `bytes` stored bytes (valid until the next call on this thread). */
export function readScratch(bytes: number): Uint8Array {
  return new Uint8Array(scratchBytes(bytes), 0, bytes);
}
