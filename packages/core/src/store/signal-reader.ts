import { closeSync, openSync, readSync } from 'node:fs';
import { BLOCK_ROWS, ROW_BYTES, SUMMARY_FIELDS, summaryPages, type IndexMeta } from '../ingest/index-store.js';

/**
 * Least-recently-used cache of decoded index blocks, shared by all signals, so
 * memory is bounded by `maxBytes` however large the dataset is.
 */
export class BlockCache {
  private readonly blocks = new Map<string, Float64Array>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string, load: () => Float64Array): Float64Array {
    const hit = this.blocks.get(key);
    if (hit) {
      this.blocks.delete(key);
      this.blocks.set(key, hit);
      return hit;
    }
    const block = load();
    this.blocks.set(key, block);
    this.bytes += block.byteLength;
    while (this.bytes > this.maxBytes && this.blocks.size > 1) {
      const [oldestKey, oldest] = this.blocks.entries().next().value as [string, Float64Array];
      this.blocks.delete(oldestKey);
      this.bytes -= oldest.byteLength;
    }
    return block;
  }

  get size(): { blocks: number; bytes: number } {
    return { blocks: this.blocks.size, bytes: this.bytes };
  }
}

/** Open file descriptors, capped so a dataset of thousands of signals stays under the process limit. */
class DescriptorPool {
  private readonly open = new Map<string, number>();
  constructor(private readonly max: number) {}

  fd(path: string): number {
    const fd = this.open.get(path);
    if (fd !== undefined) {
      this.open.delete(path);
      this.open.set(path, fd);
      return fd;
    }
    const opened = openSync(path, 'r');
    this.open.set(path, opened);
    if (this.open.size > this.max) {
      const [oldPath, oldFd] = this.open.entries().next().value as [string, number];
      this.open.delete(oldPath);
      closeSync(oldFd);
    }
    return opened;
  }

  forget(path: string): void {
    const fd = this.open.get(path);
    if (fd === undefined) return;
    this.open.delete(path);
    closeSync(fd);
  }

  closeAll(): void {
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
  }
}

function readFully(fd: number, into: Uint8Array, position: number, path: string): void {
  let off = 0;
  while (off < into.length) {
    const n = readSync(fd, into, off, into.length - off, position + off);
    if (n === 0) throw new Error(`index ${path} is shorter than its meta says`);
    off += n;
  }
}

export const descriptors = new DescriptorPool(256);
let nextReaderId = 0;

/**
 * Random access to one signal's index: rows are found by a binary search over
 * the block start times held in memory, then inside one cached 64 KiB block.
 */
export class SignalReader {
  /** Distinguishes rebuilt indexes in the cache (a rebuilt file gets a new reader). */
  private readonly id = nextReaderId++;

  readonly sumPath: string;

  constructor(
    readonly binPath: string,
    public meta: IndexMeta,
    private readonly cache: BlockCache,
  ) {
    this.sumPath = binPath.replace(/\.bin$/, '.sum');
  }

  get rows(): number {
    return this.meta.rows;
  }

  /** Rows of block `b`, interleaved `[t, v, ...]`. */
  block(b: number): Float64Array {
    const length = Math.min(BLOCK_ROWS, this.meta.rows - b * BLOCK_ROWS);
    // The length is part of the key: a block that grew by a live append is a new block.
    return this.cache.get(`${this.id}:${b}:${length}`, () => {
      const out = new Float64Array(length * 2);
      readFully(descriptors.fd(this.binPath), new Uint8Array(out.buffer), b * BLOCK_ROWS * ROW_BYTES, this.binPath);
      return out;
    });
  }

  /** The page summaries (`[tFirst, tLast, min, max, sum, count]` per 256 rows), cached like a block. */
  summaries(): Float64Array {
    const pages = summaryPages(this.meta.rows);
    return this.cache.get(`${this.id}:sum:${pages}`, () => {
      const out = new Float64Array(pages * SUMMARY_FIELDS);
      readFully(descriptors.fd(this.sumPath), new Uint8Array(out.buffer), 0, this.sumPath);
      return out;
    });
  }

  time(i: number): number {
    return this.block(Math.floor(i / BLOCK_ROWS))[(i % BLOCK_ROWS) * 2]!;
  }

  value(i: number): number {
    return this.block(Math.floor(i / BLOCK_ROWS))[(i % BLOCK_ROWS) * 2 + 1]!;
  }

  /** Closes this index's files (it was rebuilt or the dataset closes). */
  release(): void {
    descriptors.forget(this.binPath);
    descriptors.forget(this.sumPath);
  }

  /** Index of the last row at or before `t`, or -1 when every row is later. */
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
    const block = this.block(lo);
    let a = 0;
    let b = block.length / 2 - 1;
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (block[mid * 2]! <= t) a = mid;
      else b = mid - 1;
    }
    return lo * BLOCK_ROWS + a;
  }

  /** Index of the first row at or after `t` (may equal `rows`). */
  indexAtOrAfter(t: number): number {
    const i = this.indexAtOrBefore(t);
    if (i >= 0 && this.time(i) === t) return i;
    return i + 1;
  }
}
