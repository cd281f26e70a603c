import { describe, expect, it } from 'vitest';
import { BLOCK_ROWS, decodeRows, encodeAppend, rowBytes, writeSmallest, type RowFormat } from './row-format.js';

const T0 = Date.UTC(2024, 2, 1);

function rowsOf(times: number[], values: number[]): Float64Array {
  const rows = new Float64Array(times.length * 2);
  times.forEach((t, i) => {
    rows[i * 2] = t;
    rows[i * 2 + 1] = values[i]!;
  });
  return rows;
}

function blockStarts(rows: Float64Array, count: number): number[] {
  const starts: number[] = [];
  for (let b = 0; b * BLOCK_ROWS < count; b++) starts.push(rows[b * BLOCK_ROWS * 2]!);
  return starts;
}

/** Writes rows in their smallest format, as the index does (pieces, and rewinds when a scale fails). */
function store(
  rows: Float64Array,
  count: number,
  decimals: number,
  valueBound = Infinity,
): { format: RowFormat; bytes: Buffer } {
  const pieces: Uint8Array[] = [];
  const format = writeSmallest(rows, count, blockStarts(rows, count), decimals, valueBound, {
    write: (bytes) => pieces.push(bytes.slice()),
    rewind: () => (pieces.length = 0),
  });
  const bytes = Buffer.concat(pieces);
  expect(bytes.length).toBe(count * rowBytes(format));
  return { format, bytes };
}

/** Decodes stored rows block by block, as the reader reads them. */
function load(bytes: Buffer, rows: Float64Array, count: number, format: RowFormat): Float64Array {
  const starts = blockStarts(rows, count);
  const out = new Float64Array(count * 2);
  const size = rowBytes(format);
  for (let first = 0; first < count; first += BLOCK_ROWS) {
    const n = Math.min(BLOCK_ROWS, count - first);
    decodeRows(
      bytes.subarray(first * size, (first + n) * size),
      n,
      first,
      starts,
      format,
      out.subarray(first * 2, (first + n) * 2),
    );
  }
  return out;
}

const bits = (a: Float64Array) => [...a].map((x) => (Object.is(x, -0) ? '-0' : String(x)));

describe('row formats', () => {
  it('stores telemetry-like readings past int16 in 8 bytes and gives every one back bit for bit', () => {
    const n = 9 * BLOCK_ROWS + 17; // more than one 32,768-row encoding piece
    const times = Array.from({ length: n }, (_, i) => T0 + i * 30_000 + (i % 7) * 13);
    const values = Array.from({ length: n }, (_, i) =>
      i % 11 === 0 ? -0 : Math.round(Math.sin(i / 50) * 4_000_000) / 1000,
    );
    const rows = rowsOf(times, values);
    const { format, bytes } = store(rows, n, 3);
    expect(format).toEqual({ kind: 'compact', scale: 3 });
    expect(rowBytes(format)).toBe(8);
    expect(bits(load(bytes, rows, n, format))).toEqual(bits(rows));
  });

  it('stores readings within int16 at their scale in 6 bytes, bit for bit, when their plausible range fits too', () => {
    const n = 9 * BLOCK_ROWS + 17;
    const times = Array.from({ length: n }, (_, i) => T0 + i * 1000 + (i % 5) * 7);
    // cell voltages in mV, with -0 and both ends of int16 at scale 3
    const values = Array.from({ length: n }, (_, i) =>
      i === 5 ? -0 : i === 6 ? 32.766 : i === 7 ? -32.766 : (3000 + (i % 400)) / 1000,
    );
    const rows = rowsOf(times, values);
    const narrow = store(rows, n, 3, 32.766);
    expect(narrow.format).toEqual({ kind: 'narrow', scale: 3 });
    expect(rowBytes(narrow.format)).toBe(6);
    expect(bits(load(narrow.bytes, rows, n, narrow.format))).toEqual(bits(rows));
    // The same readings of a signal whose range reaches past int16 at that scale: 8 bytes.
    const compact = store(rows, n, 3, 40);
    expect(compact.format).toEqual({ kind: 'compact', scale: 3 });
    expect(bits(load(compact.bytes, rows, n, compact.format))).toEqual(bits(rows));
  });

  it('finds the scale the values need when the parser did not say', () => {
    // 40,000 rows: the failing value sits in the second written piece, so the first is rewound
    const n = 40_000;
    const rows = rowsOf(
      Array.from({ length: n }, (_, i) => T0 + i * 1000),
      Array.from({ length: n }, (_, i) => (i === 39_000 ? -0.00001 : i % 2 ? 3.3 : 3.2845)),
    );
    const { format, bytes } = store(rows, n, 0);
    expect(format).toEqual({ kind: 'compact', scale: 5 });
    expect(bits(load(bytes, rows, n, format))).toEqual(bits(rows));
  });

  it('keeps 16-byte rows for whatever 8 bytes cannot hold exactly', () => {
    const wide = (times: number[], values: number[]) => {
      const rows = rowsOf(times, values);
      const { format, bytes } = store(rows, times.length, 0);
      expect(bits(load(bytes, rows, times.length, format))).toEqual(bits(rows));
      return format.kind;
    };
    // a value with more decimals than any scale
    expect(wide([T0, T0 + 1000], [Math.PI, 1])).toBe('wide');
    // past int32 at its scale (an energy counter in Wh)
    expect(wide([T0, T0 + 1000], [3_000_000_000, 1])).toBe('wide');
    // a block spanning more than 49 days (a long outage)
    expect(wide([T0, T0 + 60 * 86_400_000], [1, 2])).toBe('wide');
    // sub-millisecond times
    expect(wide([T0, T0 + 0.5], [1, 2])).toBe('wide');
  });

  it('refuses to append rows the index format cannot hold, so the index is rebuilt', () => {
    const rows = rowsOf([T0, T0 + 1000], [1.5, 2.25]);
    expect(encodeAppend(rows, 2, 0, [T0], { kind: 'compact', scale: 1 })).toBeNull();
    expect(encodeAppend(rowsOf([T0], [3276.8]), 1, 0, [T0], { kind: 'narrow', scale: 1 })).toBeNull();
    expect(encodeAppend(rowsOf([T0], [3276.7]), 1, 0, [T0], { kind: 'narrow', scale: 1 })).not.toBeNull();
    const encoded = encodeAppend(rows, 2, 0, [T0], { kind: 'compact', scale: 2 })!;
    expect(decodeRows(encoded, 2, 0, [T0], { kind: 'compact', scale: 2 }, new Float64Array(4))).toEqual(rows);
  });
});
