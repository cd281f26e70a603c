import { createHash } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { SignalQuality } from '../types.js';
import {
  BLOCK_ROWS,
  decodeRows,
  encodeAppend,
  readScratch,
  rowBytes,
  writeSmallest,
  type RowFormat,
  type RowSink,
} from './row-format.js';

/**
 * The persisted per-signal index: `<signal>.bin` holds the readings as fixed-size
 * rows (6, 8 or 16 bytes, see row-format.ts; sorted by time, so a row is found by
 * arithmetic and a range is one read); `<signal>.meta.json` says which version of
 * the CSV it was built from and what was learnt while reading it.
 */
export const INDEX_VERSION = 6;
export { BLOCK_ROWS } from './row-format.js';
/** Rows per summary page: `.sum` holds `[tFirst, tLast, min, max, sum, count]` per page, for fast downsampling. */
export const SUMMARY_ROWS = 256;
export const SUMMARY_FIELDS = 6;
const SUMMARY_BYTES = SUMMARY_FIELDS * 8;
/** Bytes of the CSV's head that identify the file (a replaced file has a different head). */
const HEAD_BYTES = 4096;

/** Which version of a CSV an index was built from. */
export interface SourceStamp {
  size: number;
  mtimeMs: number;
  /** Changes on every write, and cannot be set back: a file rewritten at the same size with its mtime restored still differs. */
  ctimeMs: number;
  /** A file replaced under the same name (written elsewhere, renamed over) is another inode. */
  ino: number;
  headHash: string;
}

/** Whether the file's current stat is the version the index was built from. */
export function sameSource(source: SourceStamp, file: Omit<SourceStamp, 'headHash'>): boolean {
  return (
    source.size === file.size &&
    source.mtimeMs === file.mtimeMs &&
    source.ctimeMs === file.ctimeMs &&
    source.ino === file.ino
  );
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
  /** First timestamp of every block: a binary search here finds the block of any time (and compact rows' time base). */
  blockStarts: number[];
  rowFormat: RowFormat;
}

export function indexPaths(
  indexDir: string,
  deviceId: string,
  signal: string,
): { bin: string; meta: string; sum: string } {
  const base = join(indexDir, deviceId, signal);
  return { bin: `${base}.bin`, meta: `${base}.meta.json`, sum: `${base}.sum` };
}

export function summaryPages(rows: number): number {
  return Math.ceil(rows / SUMMARY_ROWS);
}

/**
 * Summaries of the pages of `rows` (interleaved, `count` rows), where `rows[0]`
 * is row `firstRow` of the signal and `firstRow` starts a page.
 */
export function summarize(rows: Float64Array, count: number): Float64Array {
  const out = new Float64Array(summaryPages(count) * SUMMARY_FIELDS);
  for (let p = 0; p * SUMMARY_ROWS < count; p++) {
    const end = Math.min(count, (p + 1) * SUMMARY_ROWS);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let i = p * SUMMARY_ROWS; i < end; i++) {
      const v = rows[i * 2 + 1]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    const o = p * SUMMARY_FIELDS;
    out[o] = rows[p * SUMMARY_ROWS * 2]!;
    out[o + 1] = rows[(end - 1) * 2]!;
    out[o + 2] = min;
    out[o + 3] = max;
    out[o + 4] = sum;
    out[o + 5] = end - p * SUMMARY_ROWS;
  }
  return out;
}

export function headHash(fd: number, size: number): string {
  const buf = Buffer.alloc(Math.min(size, HEAD_BYTES));
  const n = readSync(fd, buf, 0, buf.length, 0);
  return hashHead(buf.subarray(0, n));
}

/** The identity of a CSV from its first bytes (pass at least HEAD_BYTES, or the whole file). */
export function hashHead(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes.subarray(0, HEAD_BYTES)).digest('hex');
}

export function blockStartsOf(rows: Float64Array, count: number, fromRow = 0): number[] {
  const starts: number[] = [];
  const firstBlock = Math.ceil(fromRow / BLOCK_ROWS);
  for (let b = firstBlock; b * BLOCK_ROWS < count; b++) starts.push(rows[b * BLOCK_ROWS * 2]!);
  return starts;
}

/** What a file is written from: bytes, text, or a producer that hands over its bytes in pieces (and may start over). */
type FileData = Uint8Array | string | ((out: RowSink) => void);

/**
 * Write to a temporary name, then rename: a reader sees the old file or the new
 * one, never half of one. No fsync: an index is a cache of the CSV, and one torn
 * by a power cut fails the size and last-row checks and is rebuilt. (fsync was
 * a third of the indexing time on datasets of many small files.)
 */
function writeAtomic(path: string, data: FileData): void {
  // Creating a file is costly here (about 1 ms under indexing's write load): a file
  // that does not exist yet has no reader to protect and is written in place. Its
  // exclusive create doubles as the check (a separate stat was 4 % of indexing).
  const fresh = createFresh(path);
  const tmp = fresh === null ? `${path}.tmp-${process.pid}` : path;
  const fd = fresh ?? openSync(tmp, 'w');
  try {
    writeData(fd, data, 0, () => {
      ftruncateSync(fd, 0);
      return 0;
    });
  } finally {
    closeSync(fd);
  }
  if (fresh === null) renameSync(tmp, path);
}

const TEMPORARY = /\.tmp-(\d+)$/;

/**
 * Removes temporary files that a process killed mid-write left in the index folder (a live
 * process's, such as another server's on the same folder, are left alone). Returns how many.
 */
export function removeStaleTemporaries(indexDir: string): number {
  let removed = 0;
  let devices: string[];
  try {
    devices = readdirSync(indexDir);
  } catch {
    return 0; // no index yet
  }
  for (const device of devices) {
    let names: string[];
    try {
      names = readdirSync(join(indexDir, device));
    } catch {
      continue; // not a folder
    }
    for (const name of names) {
      const pid = Number(TEMPORARY.exec(name)?.[1]);
      if (!pid || processAlive(pid)) continue;
      try {
        unlinkSync(join(indexDir, device, name));
        removed++;
      } catch {
        // gone meanwhile
      }
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A descriptor of `path` created new, or null when it exists already. */
function createFresh(path: string): number | null {
  try {
    return openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
}

/** Directories this thread has made: a device's 591 signals need one mkdir, not 591. */
const madeDirs = new Set<string>();

function ensureDir(dir: string): void {
  if (madeDirs.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  madeDirs.add(dir);
}

export function readFully(fd: number, into: Uint8Array, position: number, path: string): void {
  let off = 0;
  while (off < into.length) {
    const n = readSync(fd, into, off, into.length - off, position + off);
    if (n === 0) throw new Error(`index ${path} is shorter than its meta says`);
    off += n;
  }
}

/**
 * Rows `[first, first + count)` of an index's .bin, decoded to `[t, v, ...]`; they
 * must lie in one block (or be read by the caller a block at a time).
 */
export function readRows(
  fd: number,
  path: string,
  meta: Pick<IndexMeta, 'blockStarts' | 'rowFormat'>,
  first: number,
  count: number,
  into = new Float64Array(count * 2),
): Float64Array {
  const size = rowBytes(meta.rowFormat);
  if (meta.rowFormat.kind === 'wide') {
    readFully(fd, new Uint8Array(into.buffer, into.byteOffset, count * size), first * size, path);
    return into;
  }
  const bytes = readScratch(count * size);
  readFully(fd, bytes, first * size, path);
  return decodeRows(bytes, count, first, meta.blockStarts, meta.rowFormat, into);
}

/** Rows `[first, first + count)` of the .bin at `path`, any number of blocks. */
function readRowsOf(path: string, meta: IndexMeta, first: number, count: number): Float64Array {
  const out = new Float64Array(count * 2);
  const fd = openSync(path, 'r');
  try {
    for (let row = first; row < first + count;) {
      const end = Math.min(first + count, (Math.floor(row / BLOCK_ROWS) + 1) * BLOCK_ROWS);
      readRows(fd, path, meta, row, end - row, out.subarray((row - first) * 2, (end - first) * 2));
      row = end;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/**
 * Writes a whole index: the rows in the smallest row format that holds them (see
 * `writeSmallest` for `decimals` and `valueBound`), their page summaries, then the
 * meta that vouches for both. Returns the meta as written.
 */
export function writeIndex(
  indexDir: string,
  deviceId: string,
  partial: Omit<IndexMeta, 'rowFormat'>,
  rows: Float64Array,
  summaries: Float64Array,
  values: { decimals: number; valueBound: number },
): IndexMeta {
  const paths = indexPaths(indexDir, deviceId, partial.signal);
  const write = (): IndexMeta => {
    ensureDir(dirname(paths.bin));
    let rowFormat: RowFormat = { kind: 'wide' };
    writeAtomic(paths.bin, (out) => {
      rowFormat = writeSmallest(rows, partial.rows, partial.blockStarts, values.decimals, values.valueBound, out);
    });
    writeAtomic(paths.sum, new Uint8Array(summaries.buffer, 0, summaries.byteLength));
    const meta: IndexMeta = { ...partial, rowFormat };
    writeAtomic(paths.meta, JSON.stringify(meta));
    return meta;
  };
  try {
    return write();
  } catch (error) {
    // The index folder was removed while we ran: make it again.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    madeDirs.delete(dirname(paths.bin));
    return write();
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number | null): void {
  let off = 0;
  while (off < bytes.length)
    off += writeSync(fd, bytes, off, bytes.length - off, position === null ? null : position + off);
}

/**
 * Writes `data` to `fd` from `position` (null: at the file's end, appending). A producer that
 * starts over gets the position `rewind` returns.
 */
function writeData(fd: number, data: FileData, position: number | null, rewind: () => number | null): void {
  let at = position;
  const write = (bytes: Uint8Array): void => {
    writeAll(fd, bytes, at);
    if (at !== null) at += bytes.length;
  };
  if (typeof data !== 'function') return write(typeof data === 'string' ? Buffer.from(data) : data);
  data({ write, rewind: () => void (at = rewind()) });
}

function writeAt(path: string, data: FileData, position: number | null): void {
  const fd = openSync(path, position === null ? 'a' : 'r+');
  try {
    writeData(fd, data, position, () => {
      throw new Error(`${path}: an append cannot start over`);
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends rows to an existing index (`previousRows` long), rewrites the summary
 * pages they touch, then replaces the meta that vouches for both. Returns false,
 * writing nothing, when the new rows do not fit the index's row format (the
 * caller rebuilds it).
 */
export function appendIndex(
  indexDir: string,
  deviceId: string,
  meta: IndexMeta,
  previousRows: number,
  rows: Float64Array,
  count: number,
): boolean {
  const encoded = encodeAppend(rows, count, previousRows, meta.blockStarts, meta.rowFormat);
  if (!encoded) return false;
  const paths = indexPaths(indexDir, deviceId, meta.signal);
  // The last page may have been partial: re-read its old rows and summarise it again with the new ones.
  const pageStart = previousRows - (previousRows % SUMMARY_ROWS);
  const carried = previousRows - pageStart;
  const combined = new Float64Array((carried + count) * 2);
  if (carried > 0) combined.set(readRowsOf(paths.bin, meta, pageStart, carried));
  writeAt(paths.bin, encoded, null);
  combined.set(rows.subarray(0, count * 2), carried * 2);
  const summaries = summarize(combined, carried + count);
  writeAt(
    paths.sum,
    new Uint8Array(summaries.buffer, 0, summaries.byteLength),
    (pageStart / SUMMARY_ROWS) * SUMMARY_BYTES,
  );
  writeAtomic(paths.meta, JSON.stringify(meta));
  return true;
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
    if (statSync(paths.bin).size !== meta.rows * rowBytes(meta.rowFormat)) return null;
    if (statSync(paths.sum).size !== summaryPages(meta.rows) * SUMMARY_BYTES) return null;
    if (meta.rows > 0) {
      const last = readRowsOf(paths.bin, meta, meta.rows - 1, 1);
      if (!meta.lastRow || !Object.is(last[0], meta.lastRow[0]) || !Object.is(last[1], meta.lastRow[1])) return null;
    }
  } catch {
    return null;
  }
  return meta;
}
