import { closeSync, readSync } from 'node:fs';
import { describeSignal } from '../catalog.js';
import type { RejectCounts, SignalQuality } from '../types.js';
import {
  appendIndex,
  BLOCK_ROWS,
  blockStartsOf,
  hashHead,
  headHash,
  INDEX_VERSION,
  readTrustedMeta,
  sameSource,
  writeIndex,
  summarize,
  SUMMARY_FIELDS,
  SUMMARY_ROWS,
  type IndexMeta,
  type SourceStamp,
} from '../index-format/index.js';
import { ReadingBuilder, type FinishedReadings } from './readings.js';
import { readWithFastCsv } from './reference.js';
import { LineScanner } from './scanner.js';
import { mostReadings, readBuffer } from './fast-lines.js';
import { completeLinesEnd, openSourceFile } from './source-file.js';
import { extendSegments, measureTiming } from './stats.js';

export interface IndexJob {
  csvPath: string;
  indexDir: string;
  deviceId: string;
  signal: string;
  /** Offset of zone-less timestamps from UTC (ms); 0 = the files log UTC. */
  utcOffsetMs: number;
  /** Build from the CSV whatever the index on disk says (it was found damaged when read). */
  rebuild?: boolean;
}

type IndexAction = 'reused' | 'built' | 'appended';

export interface IndexOutcome {
  meta: IndexMeta;
  action: IndexAction;
  /** CSV bytes read by this call. */
  bytesRead: number;
}

/**
 * Brings one signal's index up to date with its CSV: reuse it when the file is
 * unchanged, read only the new bytes when the file grew (live tail), and rebuild
 * it when the file was replaced, truncated or rewritten. Only a regular file is
 * read (see openSourceFile): anything else fails with NotRegularFileError.
 */
export async function indexSignalFile(job: IndexJob): Promise<IndexOutcome> {
  const { fd, stats } = openSourceFile(job.csvPath);
  try {
    const stamp = { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino };
    const previous = job.rebuild ? null : readTrustedMeta(job.indexDir, job.deviceId, job.signal);
    if (previous && sameSource(previous.source, stamp)) return { meta: previous, action: 'reused', bytesRead: 0 };
    if (previous && canAppend(fd, previous, stamp.size, stamp.ino)) {
      const appended = await appendRows(job, fd, previous, stamp);
      if (appended) return appended;
    }
    return await buildIndex(job, fd, stamp);
  } finally {
    closeSync(fd);
  }
}

type FileStamp = Omit<SourceStamp, 'headHash'>;

function canAppend(fd: number, previous: IndexMeta, size: number, ino: number): boolean {
  return (
    size > previous.source.size &&
    previous.source.ino === ino &&
    headHash(fd, previous.source.size) === previous.source.headHash
  );
}

async function buildIndex(job: IndexJob, fd: number, file: FileStamp): Promise<IndexOutcome> {
  const { size } = file;
  let builder = new ReadingBuilder(job.utcOffsetMs, mostReadings(size));
  let scanner = new LineScanner(builder);
  const head = scanRange(fd, scanner, 0, size);
  let parser: SignalQuality['parser'] = 'scanner';
  if (scanner.needsFallback) {
    builder.discard();
    builder = new ReadingBuilder(job.utcOffsetMs, mostReadings(size));
    parser = 'fast-csv';
    try {
      await readWithFastCsv(fd, builder, size);
    } catch {
      builder.discard();
      // Broken quoting (binary garbage, a stray quote) stops fast-csv mid-file. Split it by
      // lines instead, quotes as plain bytes, so every line is still a reading or a counted reject.
      builder = new ReadingBuilder(job.utcOffsetMs, mostReadings(size));
      scanner = new LineScanner(builder, true, true);
      scanRange(fd, scanner, 0, size);
      parser = 'lenient-scanner';
    }
  }
  const readings = builder.finish();
  const timing = measureTiming(readings.rows, readings.count);
  const summaries = summarize(readings.rows, readings.count);
  const blockStarts = blockStartsOf(readings.rows, readings.count);
  const stamp: SourceStamp = { ...file, headHash: head };
  // fast-csv reads complete lines only, as the scanner does: the file's complete lines end at its last newline.
  const consumedBytes = parser === 'fast-csv' ? completeLinesEnd(fd, 0, size) : scanner.consumedBytes;
  const meta: Omit<IndexMeta, 'rowFormat'> = {
    version: INDEX_VERSION,
    signal: job.signal,
    source: stamp,
    consumedBytes,
    endedUnterminated: consumedBytes < size,
    rows: readings.count,
    first: readings.count ? readings.rows[0]! : null,
    last: readings.count ? readings.rows[(readings.count - 1) * 2]! : null,
    lastRow: lastRowOf(readings.rows, readings.count),
    medianPeriodMs: timing.medianPeriodMs,
    staleAfterMs: timing.staleAfterMs,
    segments: timing.segments,
    gaps: timing.gaps,
    quality: qualityOf(job.signal, readings, parser, summaries),
    blockStarts,
  };
  const written = writeIndex(job.indexDir, job.deviceId, meta, readings.rows, summaries, {
    decimals: readings.decimals,
    valueBound: valueBound(job.signal, summaries),
  });
  readings.release();
  return { meta: written, action: 'built', bytesRead: size };
}

/**
 * Reads only the bytes appended since the last index (from the start of a line that was still
 * being written, if there was one); null when they cannot simply be appended. Appended lines with
 * CSV quoting are read by fast-csv, still from where the index stopped: one quoted line must not
 * make every later append re-read the whole file.
 */
async function appendRows(
  job: IndexJob,
  fd: number,
  previous: IndexMeta,
  file: FileStamp,
): Promise<IndexOutcome | null> {
  const { size } = file;
  if (previous.staleAfterMs === null) return null;
  let builder = new ReadingBuilder(job.utcOffsetMs);
  const scanner = new LineScanner(builder, false);
  scanRange(fd, scanner, previous.consumedBytes, size);
  let consumedBytes = previous.consumedBytes + scanner.consumedBytes;
  if (scanner.needsFallback) {
    builder.discard();
    builder = new ReadingBuilder(job.utcOffsetMs);
    try {
      await readWithFastCsv(fd, builder, size, previous.consumedBytes);
    } catch {
      builder.discard();
      return null;
    }
    consumedBytes = completeLinesEnd(fd, previous.consumedBytes, size);
  }
  const readings = builder.finish();
  // Rows older than what is indexed would have to be merged in: rebuild instead.
  if (readings.count > 0 && previous.last !== null && readings.rows[0]! <= previous.last) {
    readings.release();
    return null;
  }

  const segments = [...previous.segments];
  const newGaps = extendSegments(segments, readings.rows, 0, readings.count, previous.staleAfterMs);
  const rows = previous.rows + readings.count;
  const blockStarts = [...previous.blockStarts];
  for (let i = 0; i < readings.count; i++) {
    if ((previous.rows + i) % BLOCK_ROWS === 0) blockStarts.push(readings.rows[i * 2]!);
  }
  // The line the last read found unfinished is read again now: it is no longer pending.
  const quality = mergeQuality(withoutPendingLine(previous), qualityOf(job.signal, readings, 'scanner'));
  const meta: IndexMeta = {
    ...previous,
    source: { ...file, headHash: headHash(fd, size) },
    consumedBytes,
    endedUnterminated: consumedBytes < size,
    rows,
    first: previous.first ?? (readings.count ? readings.rows[0]! : null),
    last: readings.count ? readings.rows[(readings.count - 1) * 2]! : previous.last,
    lastRow: readings.count ? lastRowOf(readings.rows, readings.count) : previous.lastRow,
    segments,
    gaps: previous.gaps + newGaps,
    quality,
    blockStarts,
  };
  const appended = appendIndex(job.indexDir, job.deviceId, meta, previous.rows, readings.rows, readings.count);
  readings.release();
  if (!appended) return null;
  return { meta, action: 'appended', bytesRead: size - previous.consumedBytes };
}

function withoutPendingLine(meta: IndexMeta): SignalQuality {
  if (!meta.endedUnterminated || meta.quality.rejected.truncated === 0) return meta.quality;
  return {
    ...meta.quality,
    linesRead: meta.quality.linesRead - 1,
    rejected: { ...meta.quality.rejected, truncated: meta.quality.rejected.truncated - 1 },
  };
}

/**
 * One read buffer per thread (1 MiB; larger reads were no faster), in the fast
 * parser's memory so its lines are parsed where they land. Reused: scanning is
 * synchronous, so no two scans share it at once.
 */
const chunk = readBuffer();

/** Feeds bytes [start, end) of the file to the scanner; returns the hash of the file's head (its identity) when reading from 0. */
function scanRange(fd: number, scanner: LineScanner, start: number, end: number): string {
  const buf = chunk;
  let position = start;
  let head: string | null = null;
  while (position < end && !scanner.needsFallback) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, end - position), position);
    if (n === 0) break; // truncated while reading: the next refresh sees the new stamp
    if (position === 0) head = hashHead(buf.subarray(0, n));
    scanner.push(buf.subarray(0, n));
    position += n;
  }
  scanner.end();
  // An empty file's identity is the hash of nothing; a scan from the middle has none.
  return head ?? (start === 0 ? hashHead(new Uint8Array(0)) : '');
}

/**
 * The largest magnitude this signal's values are expected to take: the largest read, or
 * its plausible range's ends from the catalogue if larger, so that live rows rarely
 * outgrow the row format chosen now (which would rebuild the index).
 */
function valueBound(signal: string, summaries: Float64Array): number {
  let bound = Math.max(...describeSignal(signal).range.map(Math.abs));
  for (let o = 0; o < summaries.length; o += SUMMARY_FIELDS)
    bound = Math.max(bound, -summaries[o + 2]!, summaries[o + 3]!);
  return bound;
}

function lastRowOf(rows: Float64Array, count: number): [number, number] | null {
  return count ? [rows[(count - 1) * 2]!, rows[(count - 1) * 2 + 1]!] : null;
}

/**
 * The readings' quality counts. `summaries` (a full build has them anyway) say which pages can
 * hold a value out of range, and only those are read; an append, a few polls' rows, reads its
 * values directly rather than summarising them a second time (appendIndex summarises its pages).
 */
function qualityOf(
  signal: string,
  readings: FinishedReadings,
  parser: SignalQuality['parser'],
  summaries?: Float64Array,
): SignalQuality {
  const [low, high] = describeSignal(signal).range;
  const outsideIn = (from: number, to: number): number => {
    let n = 0;
    for (let i = from; i < to; i++) {
      const v = readings.rows[i * 2 + 1]!;
      if (v < low || v > high) n++;
    }
    return n;
  };
  let outOfRange = 0;
  if (!summaries) outOfRange = outsideIn(0, readings.count);
  else {
    for (let p = 0, o = 0; o < summaries.length; p++, o += SUMMARY_FIELDS) {
      if (summaries[o + 2]! >= low && summaries[o + 3]! <= high) continue; // min and max within range
      outOfRange += outsideIn(p * SUMMARY_ROWS, Math.min(readings.count, (p + 1) * SUMMARY_ROWS));
    }
  }
  return {
    linesRead: readings.linesRead,
    accepted: readings.count,
    rejected: readings.rejected,
    outOfOrder: readings.outOfOrder,
    outOfRange,
    parser,
  };
}

function mergeQuality(a: SignalQuality, b: SignalQuality): SignalQuality {
  const rejected = { ...a.rejected };
  for (const key of Object.keys(b.rejected) as (keyof RejectCounts)[]) rejected[key] += b.rejected[key];
  return {
    linesRead: a.linesRead + b.linesRead,
    accepted: a.accepted + b.accepted,
    rejected,
    outOfOrder: a.outOfOrder + b.outOfOrder,
    outOfRange: a.outOfRange + b.outOfRange,
    parser: a.parser,
  };
}
