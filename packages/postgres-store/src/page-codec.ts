import { decodeRows, writeSmallest, type RowFormat, type RowSink } from '@bess/core/store-kit';

/** How a page's format is stored: one small integer and the scale. */
const FORMAT_CODES = { wide: 0, compact: 1, narrow: 2 } as const;
const FORMAT_KINDS = ['wide', 'compact', 'narrow'] as const;

export interface EncodedPage {
  format: number;
  scale: number;
  bytes: Buffer;
}

/** Collects one page's encoded bytes (a page is at most 256 rows of 16 bytes). */
class PageSink implements RowSink {
  private buffer = Buffer.allocUnsafe(4096);
  length = 0;

  write(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes.length));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  rewind(): void {
    this.length = 0;
  }

  take(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

/**
 * One page's rows (`[t, v, ...]`, `count` of them) in the index's row codec, times relative to
 * the page's first: the smallest format that holds every row exactly, tried from the scale the
 * signal's index uses.
 */
export function encodePage(rows: Float64Array, count: number, indexFormat: RowFormat): EncodedPage {
  let bound = 0;
  for (let i = 0; i < count; i++) bound = Math.max(bound, Math.abs(rows[i * 2 + 1]!));
  const sink = new PageSink();
  const decimals = indexFormat.kind === 'wide' ? 0 : indexFormat.scale;
  const format = writeSmallest(rows, count, [rows[0]!], decimals, bound, sink);
  return { format: FORMAT_CODES[format.kind], scale: format.kind === 'wide' ? 0 : format.scale, bytes: sink.take() };
}

/** A stored page back to `[t, v, ...]`. */
export function decodePage(
  bytes: Uint8Array,
  count: number,
  tFirst: number,
  format: number,
  scale: number,
): Float64Array {
  const kind = FORMAT_KINDS[format];
  if (!kind) throw new Error(`unknown page format ${format}`);
  const rowFormat: RowFormat = kind === 'wide' ? { kind } : { kind, scale };
  return decodeRows(bytes, count, 0, [tFirst], rowFormat, new Float64Array(count * 2));
}

/** A stored block rollup (little-endian float64s) back to numbers, copied out (bytea is not 8-byte aligned). */
export function rollupOf(bytes: Uint8Array): Float64Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float64Array(copy.buffer);
}
