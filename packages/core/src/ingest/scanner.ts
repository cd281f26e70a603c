import { parseTimestamp } from './fields.js';
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
    /** Read quote characters as plain bytes: the last resort for files fast-csv cannot parse. */
    private readonly ignoreQuotes = false,
  ) {
    this.atFileStart = expectHeader;
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
    if (start === 0 && this.atFileStart && this.consumedBytes === 0 && buf.length >= 3 && buf[0] === BOM[0] && buf[1] === BOM[1] && buf[2] === BOM[2]) {
      start = 3;
      this.consumedBytes = 3;
    }
    // One pass over the bytes, noting the first two commas of each line: cheaper
    // than an indexOf call per delimiter on lines of ~25 bytes. The usual line starts
    // with a 19-byte timestamp and a comma; it is parsed in place and its bytes skipped.
    const begin = start;
    const sink = this.sink;
    const offset = sink.utcOffsetMs;
    let firstComma = -1;
    let secondComma = -1;
    let time = NaN;
    const n = buf.length;
    for (let i = start; i < n; i++) {
      if (i === start && i + 19 < n && buf[i + 19] === COMMA && !this.atFileStart) {
        time = parseTimestamp(buf, i, i + 19, offset);
        if (time === time) {
          firstComma = i + 19;
          i += 19;
          continue;
        }
      }
      const c = buf[i];
      if (c === COMMA) {
        if (firstComma < 0) firstComma = i;
        else if (secondComma < 0) secondComma = i;
      } else if (c === NEWLINE) {
        const end = i > start && buf[i - 1] === CR ? i - 1 : i;
        if (time === time && secondComma < 0) sink.addTimedValue(time, buf, firstComma + 1, end);
        else this.line(buf, start, end, firstComma, secondComma);
        start = i + 1;
        firstComma = -1;
        secondComma = -1;
        time = NaN;
      }
    }
    this.consumedBytes += start - begin;
    // Copied: the caller may reuse its read buffer for the next chunk.
    if (start < n) this.carry = Buffer.from(buf.subarray(start));
  }

  /** End of input: a trailing line without newline is still a line (as fast-csv reads it). */
  end(): void {
    if (this.needsFallback || !this.carry) return;
    const buf = this.carry;
    this.carry = null;
    let end = buf.length;
    if (end > 0 && buf[end - 1] === CR) end--;
    this.endedUnterminated = true;
    const first = buf.indexOf(COMMA);
    const second = first < 0 ? -1 : buf.indexOf(COMMA, first + 1);
    this.line(buf, 0, end, first >= end ? -1 : first, second >= end ? -1 : second);
  }

  /** One line [start, end) without its line end; commas at or past `end` are ignored. */
  private line(buf: Buffer, start: number, end: number, firstComma: number, secondComma: number): void {
    if (this.atFileStart) {
      this.atFileStart = false;
      if (isHeader(buf, start, end)) return;
    }
    if (firstComma < 0 || firstComma >= end) {
      this.sink.addUnsplitLine(buf, start, end);
    } else if (secondComma >= 0 && secondComma < end) {
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
