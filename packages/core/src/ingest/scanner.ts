import { DateCache, POW10 } from './fields.js';
import type { ReadingBuilder } from './readings.js';

const NEWLINE = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BOM = [0xef, 0xbb, 0xbf];
const SPACE = 0x20;
const MINUS = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const D0 = 0x30;
/** The shortest line the fast path takes: a 19-byte timestamp, a comma, one digit, a newline. */
const FAST_MIN_LINE = 22;

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
  private readonly dates = new DateCache();
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
    const begin = start;
    const n = buf.length;
    // Only whole lines are scanned here; the rest is carried to the next chunk. Every
    // line ends in a newline, so the byte loops below stop there without bounds checks.
    const lastNewline = buf.lastIndexOf(NEWLINE);
    if (this.atFileStart && start <= lastNewline) start = this.firstLine(buf, start);
    const sink = this.sink;
    // Room for every line left to be a reading: no line that parses is shorter than FAST_MIN_LINE.
    let rows = sink.reserve(Math.ceil((lastNewline + 1 - start) / FAST_MIN_LINE) + 1);
    let length = sink.length;
    let accepted = 0;
    let lastTime = sink.lastTime;
    let disorder = 0;
    let decimals = 0;
    const offset = sink.utcOffsetMs;
    const dates = this.dates;
    // Lines of one hour share their first 13 bytes (`YYYY-MM-DD HH`): when a line's
    // match the last parsed hour's, its epoch ms are reused and only MM:SS is parsed.
    // The bytes are compared as three 32-bit words and one byte (1.5x faster than by
    // byte); h3 = -1 (no byte has that value) means no hour is held.
    const words = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let h0 = 0;
    let h1 = 0;
    let h2 = 0;
    let h3 = -1;
    let hourMs = 0;
    while (start <= lastNewline) {
      // The common line, `YYYY-MM-DD HH:MM:SS,-12.34\n`, is parsed in one pass straight
      // into the row buffer; anything else (spaces, zones, exponents, dirt) takes the
      // general path, which the differential tests hold to fast-csv.
      fast: if (start + FAST_MIN_LINE - 1 <= lastNewline && buf[start + 19] === COMMA && buf[start + 13] === COLON && buf[start + 16] === COLON) {
        const b = start;
        const x0 = words.getInt32(b, true);
        const x1 = words.getInt32(b + 4, true);
        const x2 = words.getInt32(b + 8, true);
        const x3 = buf[b + 12]!;
        if (x0 !== h0 || x1 !== h1 || x2 !== h2 || x3 !== h3) {
          h3 = -1;
          if (buf[b + 4] !== MINUS || buf[b + 7] !== MINUS || buf[b + 10] !== SPACE) break fast;
          const y3 = buf[b]! - D0, y2 = buf[b + 1]! - D0, y1 = buf[b + 2]! - D0, y0 = buf[b + 3]! - D0;
          const m1 = buf[b + 5]! - D0, m0 = buf[b + 6]! - D0, d1 = buf[b + 8]! - D0, d0 = buf[b + 9]! - D0;
          const o1 = buf[b + 11]! - D0, o0 = buf[b + 12]! - D0;
          // Unsigned, a byte below '0' wraps past 9 too: one compare per digit.
          if ((y3 >>> 0) > 9 || (y2 >>> 0) > 9 || (y1 >>> 0) > 9 || (y0 >>> 0) > 9 || (m1 >>> 0) > 9 || (m0 >>> 0) > 9) break fast;
          if ((d1 >>> 0) > 9 || (d0 >>> 0) > 9 || (o1 >>> 0) > 9 || (o0 >>> 0) > 9) break fast;
          const hour = o1 * 10 + o0;
          if (hour > 23) break fast;
          const days = dates.days(((y3 * 10 + y2) * 10 + y1) * 10 + y0, m1 * 10 + m0, d1 * 10 + d0);
          if (days !== days) break fast;
          hourMs = (days * 24 + hour) * 3_600_000 - offset;
          h0 = x0;
          h1 = x1;
          h2 = x2;
          h3 = x3;
        }
        const i1 = buf[b + 14]! - D0, i0 = buf[b + 15]! - D0, s1 = buf[b + 17]! - D0, s0 = buf[b + 18]! - D0;
        // Minutes 00-59, seconds 00-60 (a leap second, as the general parser allows).
        if ((i1 >>> 0) > 5 || (i0 >>> 0) > 9 || (s0 >>> 0) > 9 || ((s1 >>> 0) > 5 && !(s1 === 6 && s0 === 0))) break fast;
        let at = b + 20;
        let c = buf[at]!;
        const negative = c === MINUS;
        if (negative) c = buf[++at]!;
        let mantissa = 0;
        const intStart = at;
        let d = c - D0;
        while ((d >>> 0) <= 9) {
          mantissa = mantissa * 10 + d;
          c = buf[++at]!;
          d = c - D0;
        }
        let digitCount = at - intStart;
        let fraction = 0;
        if (c === DOT) {
          const fracStart = ++at;
          c = buf[at]!;
          d = c - D0;
          while ((d >>> 0) <= 9) {
            mantissa = mantissa * 10 + d;
            c = buf[++at]!;
            d = c - D0;
          }
          fraction = at - fracStart;
          digitCount += fraction;
          if (fraction > decimals) decimals = fraction;
        }
        if (digitCount === 0 || digitCount > 15) break fast;
        let next: number;
        if (c === NEWLINE) next = at + 1;
        else if (c === CR && buf[at + 1] === NEWLINE) next = at + 2;
        else break fast;
        const value = mantissa / POW10[fraction]!;
        const time = hourMs + ((i1 * 10 + i0) * 60 + s1 * 10 + s0) * 1000;
        if (time <= lastTime) disorder++;
        else lastTime = time;
        rows[length * 2] = time;
        rows[length * 2 + 1] = negative ? -value : value;
        length++;
        accepted++;
        start = next;
        continue;
      }
      const nl = buf.indexOf(NEWLINE, start);
      sink.commitFast(length, accepted, lastTime, disorder, decimals);
      accepted = 0;
      disorder = 0;
      this.general(buf, start, nl);
      length = sink.length;
      lastTime = sink.lastTime;
      start = nl + 1;
      rows = sink.reserve(Math.ceil((lastNewline + 1 - start) / FAST_MIN_LINE) + 1);
    }
    sink.commitFast(length, accepted, lastTime, disorder, decimals);
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

  /** One line [start, nl) by the general rules (nl is its newline). */
  private general(buf: Buffer, start: number, nl: number): void {
    const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    const first = buf.indexOf(COMMA, start);
    const firstComma = first >= 0 && first < end ? first : -1;
    const second = firstComma < 0 ? -1 : buf.indexOf(COMMA, firstComma + 1);
    this.line(buf, start, end, firstComma, second >= 0 && second < end ? second : -1);
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
