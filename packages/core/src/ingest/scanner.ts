import type { ReadingBuilder } from './readings.js';

const NEWLINE = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BOM = [0xef, 0xbb, 0xbf];

/**
 * The hot path of ingestion: splits `ts,value` lines straight from bytes.
 *
 * It handles what the telemetry files hold (BOM, CRLF, blank lines, a header,
 * a last line without newline) and nothing more: a quote character means the file
 * uses CSV quoting, which only fast-csv interprets correctly, so the scanner
 * reports `needsFallback` and the caller re-reads the file with fast-csv.
 */
export class LineScanner {
  private carry: Buffer | null = null;
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
  ) {
    this.atFileStart = expectHeader;
  }

  push(chunk: Buffer): void {
    if (this.needsFallback) return;
    if (chunk.indexOf(QUOTE) !== -1) {
      this.needsFallback = true;
      return;
    }
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let start = 0;
    if (this.atFileStart && this.consumedBytes === 0 && buf.length >= 3 && buf[0] === BOM[0] && buf[1] === BOM[1] && buf[2] === BOM[2]) {
      start = 3;
      this.consumedBytes = 3;
    }
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl === -1) break;
      this.line(buf, start, nl > start && buf[nl - 1] === CR ? nl - 1 : nl);
      this.consumedBytes += nl + 1 - start;
      start = nl + 1;
    }
    // Copied: the caller may reuse its read buffer for the next chunk.
    if (start < buf.length) this.carry = Buffer.from(buf.subarray(start));
  }

  /** End of input: a trailing line without newline is still a line (as fast-csv reads it). */
  end(): void {
    if (this.needsFallback || !this.carry) return;
    const buf = this.carry;
    this.carry = null;
    let end = buf.length;
    if (end > 0 && buf[end - 1] === CR) end--;
    this.endedUnterminated = true;
    this.line(buf, 0, end);
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (this.atFileStart) {
      this.atFileStart = false;
      if (isHeader(buf, start, end)) return;
    }
    const comma = buf.indexOf(COMMA, start);
    if (comma === -1 || comma >= end) {
      this.sink.addUnsplitLine(buf, start, end);
      return;
    }
    const second = buf.indexOf(COMMA, comma + 1);
    if (second !== -1 && second < end) {
      this.sink.reject('wrong_column_count');
      return;
    }
    this.sink.addFields(buf, start, comma, comma + 1, end);
  }
}

/** The first line is a header unless it starts like a timestamp (a digit). */
export function isHeader(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  const c = buf[i];
  return i < end && !(c !== undefined && c >= 0x30 && c <= 0x39);
}
