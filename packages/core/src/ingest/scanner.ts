import { FastRun, mostReadings, parseFastLines } from './fast-lines.js';
import type { ReadingBuilder } from './readings.js';
import { BOM, COMMA, CR, NEWLINE, QUOTE } from './bytes.js';

/**
 * The hot path of ingestion: splits `ts,value` lines straight from bytes.
 *
 * It handles what the telemetry files hold (BOM, CRLF, blank lines, a header,
 * a last line still being written) and nothing more: a quote character means the file
 * uses CSV quoting, which only fast-csv interprets correctly, so the scanner
 * reports `needsFallback` and the caller re-reads the file with fast-csv.
 */
export class LineScanner {
  private carry: Buffer | null = null;
  /** The fast path's state, kept across chunks (the hour it last parsed). */
  private readonly run: FastRun;
  private atFileStart = true;
  needsFallback = false;
  /** Bytes of complete (newline-terminated) lines consumed so far. */
  consumedBytes = 0;
  /** Whether the input ended with a line that had no newline. */
  endedUnterminated = false;

  constructor(
    private readonly sink: ReadingBuilder,
    /** False when continuing a file after its header was already read (live tail). */
    expectHeader = true,
    /** Read quote characters as plain bytes: the last resort for files fast-csv cannot parse. */
    private readonly ignoreQuotes = false,
  ) {
    this.atFileStart = expectHeader;
    this.run = new FastRun(sink.utcOffsetMs);
  }

  push(chunk: Buffer): void {
    if (this.needsFallback) return;
    if (!this.ignoreQuotes && chunk.indexOf(QUOTE) !== -1) {
      this.needsFallback = true;
      return;
    }
    let start = 0;
    if (this.carry) {
      // Finish the line split across chunks on its own, so the chunk itself is never copied.
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const joined = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = null;
      this.scan(joined, 0);
      start = nl + 1;
    }
    this.scan(chunk, start);
  }

  private scan(buf: Buffer, start: number): void {
    if (
      start === 0 &&
      this.atFileStart &&
      this.consumedBytes === 0 &&
      buf.length >= 3 &&
      buf[0] === BOM[0] &&
      buf[1] === BOM[1] &&
      buf[2] === BOM[2]
    ) {
      start = 3;
      this.consumedBytes = 3;
    }
    const begin = start;
    const n = buf.length;
    // Only whole lines are scanned here; the rest is carried to the next chunk. Every
    // line ends in a newline, so the byte loops below stop there without bounds checks.
    const lastNewline = buf.lastIndexOf(NEWLINE);
    if (this.atFileStart && start <= lastNewline) start = this.firstLine(buf, start);
    const sink = this.sink;
    const run = this.run;
    while (start <= lastNewline) {
      // Room for every line left to be a reading.
      run.rows = sink.reserve(mostReadings(lastNewline + 1 - start));
      run.length = sink.length;
      run.lastTime = sink.lastTime;
      start = parseFastLines(buf, start, lastNewline, run);
      sink.commitFast(run.length, run.accepted, run.lastTime, run.disorder, run.decimals);
      if (start > lastNewline) break;
      // A line the fast path does not take: the general rules decide what it is.
      const nl = buf.indexOf(NEWLINE, start);
      this.general(buf, start, nl);
      start = nl + 1;
    }
    this.consumedBytes += start - begin;
    // Copied: the caller may reuse its read buffer for the next chunk.
    if (start < n) this.carry = Buffer.from(buf.subarray(start));
  }

  /** The file's first line, which may be a header; returns where the next line starts. */
  private firstLine(buf: Buffer, start: number): number {
    const nl = buf.indexOf(NEWLINE, start);
    this.general(buf, start, nl);
    return nl + 1;
  }

  /** One line [start, nl) by the general rules (nl is its newline, or the end of the input). */
  private general(buf: Buffer, start: number, nl: number): void {
    const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    // Searched within the line only: an unbounded indexOf would run on to the next
    // comma in the chunk, and a file of comma-less lines would cost a chunk per line.
    const firstComma = commaIn(buf, start, end);
    this.line(buf, start, end, firstComma, firstComma < 0 ? -1 : commaIn(buf, firstComma + 1, end));
  }

  /**
   * End of input. A trailing line without newline is a line still being written (a logger caught
   * mid-write: `…,5` of what becomes `…,55.3`), never a reading: it is counted as `truncated` and
   * left unconsumed, so the next read of the file starts with it, complete by then.
   */
  end(): void {
    if (this.needsFallback || !this.carry) return;
    this.carry = null;
    this.endedUnterminated = true;
    this.sink.reject('truncated');
  }

  /** One line [start, end) without its line end, and its first two commas (-1: none) within it. */
  private line(buf: Buffer, start: number, end: number, firstComma: number, secondComma: number): void {
    if (this.atFileStart) {
      this.atFileStart = false;
      if (isHeader(buf, start, end)) return;
    }
    if (firstComma < 0) {
      this.sink.addUnsplitLine(buf, start, end);
    } else if (secondComma >= 0) {
      this.sink.reject('wrong_column_count');
    } else {
      this.sink.addFields(buf, start, firstComma, firstComma + 1, end);
    }
  }
}

/** The first line is a header unless it starts like a timestamp (a digit). */
export function isHeader(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  const c = buf[i];
  return i < end && !(c !== undefined && c >= 0x30 && c <= 0x39);
}

/** The first comma in [from, end), or -1. */
function commaIn(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === COMMA) return i;
  return -1;
}
