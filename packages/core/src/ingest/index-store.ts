import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SignalQuality } from '../types.js';

/**
 * The persisted per-signal index: `<signal>.bin` holds the readings as
 * little-endian float64 pairs `[t, v]` (16 bytes a row, sorted by time, so a row
 * is found by arithmetic and a range is one read); `<signal>.meta.json` says which
 * version of the CSV it was built from and what was learnt while reading it.
 */
export const INDEX_VERSION = 2;
export const ROW_BYTES = 16;
/** Rows per block: the unit of reading and caching (64 KiB). */
export const BLOCK_ROWS = 4096;
/** Bytes of the CSV's head that identify the file (a replaced file has a different head). */
const HEAD_BYTES = 4096;

export interface SourceStamp {
  size: number;
  mtimeMs: number;
  headHash: string;
}

export interface IndexMeta {
  version: number;
  signal: string;
  source: SourceStamp;
  /** CSV bytes turned into rows; a live tail continues from here. */
  consumedBytes: number;
  /** The CSV ended in a line without newline, which may still be growing. */
  endedUnterminated: boolean;
  rows: number;
  first: number | null;
  last: number | null;
  /** The newest row, to check the .bin was written completely. */
  lastRow: [number, number] | null;
  medianPeriodMs: number | null;
  staleAfterMs: number | null;
  segments: number[];
  gaps: number;
  quality: SignalQuality;
  /** First timestamp of every block: a binary search here finds the block of any time. */
  blockStarts: number[];
}

export function indexPaths(indexDir: string, deviceId: string, signal: string): { bin: string; meta: string } {
  const base = join(indexDir, deviceId, signal);
  return { bin: `${base}.bin`, meta: `${base}.meta.json` };
}

export function headHash(path: string, size: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, HEAD_BYTES));
    const n = readSync(fd, buf, 0, buf.length, 0);
    return createHash('sha1').update(buf.subarray(0, n)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

export function stampOf(path: string): SourceStamp {
  const st = statSync(path);
  return { size: st.size, mtimeMs: st.mtimeMs, headHash: headHash(path, st.size) };
}

export function blockStartsOf(rows: Float64Array, count: number, fromRow = 0): number[] {
  const starts: number[] = [];
  const firstBlock = Math.ceil(fromRow / BLOCK_ROWS);
  for (let b = firstBlock; b * BLOCK_ROWS < count; b++) starts.push(rows[b * BLOCK_ROWS * 2]!);
  return starts;
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function asBytes(rows: Float64Array, count: number): Uint8Array {
  return new Uint8Array(rows.buffer, rows.byteOffset, count * ROW_BYTES);
}

/** Writes a whole index: data first, then the meta that vouches for it. */
export function writeIndex(indexDir: string, deviceId: string, meta: IndexMeta, rows: Float64Array): void {
  const paths = indexPaths(indexDir, deviceId, meta.signal);
  mkdirSync(dirname(paths.bin), { recursive: true });
  writeAtomic(paths.bin, asBytes(rows, meta.rows));
  writeAtomic(paths.meta, JSON.stringify(meta));
}

/** Appends rows to an existing index, then replaces its meta. */
export function appendIndex(indexDir: string, deviceId: string, meta: IndexMeta, rows: Float64Array, count: number): void {
  const paths = indexPaths(indexDir, deviceId, meta.signal);
  const fd = openSync(paths.bin, 'a');
  try {
    const bytes = asBytes(rows, count);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  writeAtomic(paths.meta, JSON.stringify(meta));
}

/**
 * The meta of an index that can be trusted: right version, and a .bin whose size
 * and last row match it. Anything else (missing, torn, killed mid-write) is null,
 * and the caller rebuilds.
 */
export function readTrustedMeta(indexDir: string, deviceId: string, signal: string): IndexMeta | null {
  const paths = indexPaths(indexDir, deviceId, signal);
  let meta: IndexMeta;
  try {
    meta = JSON.parse(readFileSync(paths.meta, 'utf8')) as IndexMeta;
  } catch {
    return null;
  }
  if (meta.version !== INDEX_VERSION || meta.signal !== signal) return null;
  try {
    if (statSync(paths.bin).size !== meta.rows * ROW_BYTES) return null;
    if (meta.rows > 0) {
      const fd = openSync(paths.bin, 'r');
      try {
        const last = new Float64Array(2);
        readSync(fd, new Uint8Array(last.buffer), 0, ROW_BYTES, (meta.rows - 1) * ROW_BYTES);
        if (!meta.lastRow || !Object.is(last[0], meta.lastRow[0]) || !Object.is(last[1], meta.lastRow[1])) return null;
      } finally {
        closeSync(fd);
      }
    }
  } catch {
    return null;
  }
  return meta;
}
