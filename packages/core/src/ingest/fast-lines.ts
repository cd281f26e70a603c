import { COLON, COMMA, CR, DIGIT_0, DOT, MINUS, NEWLINE, SPACE } from './bytes.js';
import { DateCache, POW10 } from './fields.js';

/** The shortest line the fast path takes: a 19-byte timestamp, a comma, one digit, a newline. */
export const FAST_MIN_LINE = 22;

/**
 * The fast path's state: where its readings go, what it has counted, and the
 * hour it parsed last. Lines of one hour share their first 13 bytes
 * (`YYYY-MM-DD HH`): while a line's match the held hour's, that hour's epoch ms
 * are reused and only MM:SS is parsed. The bytes are compared as three 32-bit
 * words and one byte (1.5x faster than byte by byte); h3 = -1 (no byte has that
 * value) means no hour is held.
 */
export class FastRun {
  rows: Float64Array = new Float64Array(0);
  length = 0;
  lastTime = -Infinity;
  /** Since `begin`: readings added, readings not after the one before, most decimals of a value. */
  accepted = 0;
  disorder = 0;
  decimals = 0;
  words: DataView = new DataView(new ArrayBuffer(0));
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = -1;
  hourMs = 0;
  readonly dates = new DateCache();

  constructor(readonly offsetMs: number) {}

  /** Starts on a new chunk (the caller sets `rows`, `length` and `lastTime` before each parse). */
  begin(buf: Buffer): void {
    this.words = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.decimals = 0;
  }

  /** Done with the chunk: the held hour's bytes stay valid (they are compared, not referenced). */
  end(): void {
    this.words = new DataView(new ArrayBuffer(0));
  }
}

/**
 * Parses the common line, `YYYY-MM-DD HH:MM:SS,-12.34\n` (or `\r\n`), from `start`
 * on, straight into `run.rows`, until a line that is anything else (spaces, zones,
 * exponents, dirt) or `lastNewline` is passed; returns where it stopped. Every line
 * up to `lastNewline` ends in a newline, so the byte loops stop there without bounds
 * checks, and `run.rows` has room for every line. The value is an integer mantissa
 * divided by an exact power of ten, which rounds exactly as `Number()` does.
 *
 * Its own function, apart from the general path it hands odd lines to: V8 then
 * optimises it whole, with type feedback for every branch it runs, instead of
 * on-stack-replacing a larger loop whose unvisited branches deoptimise it (which
 * left parsing at 40-65 ns a line instead of about 25).
 */
export function parseFastLines(buf: Buffer, start: number, lastNewline: number, run: FastRun): number {
  const rows = run.rows;
  const words = run.words;
  let length = run.length;
  let lastTime = run.lastTime;
  let accepted = 0;
  let disorder = 0;
  let decimals = run.decimals;
  let h0 = run.h0;
  let h1 = run.h1;
  let h2 = run.h2;
  let h3 = run.h3;
  let hourMs = run.hourMs;
  while (start + FAST_MIN_LINE - 1 <= lastNewline && buf[start + 19] === COMMA && buf[start + 13] === COLON && buf[start + 16] === COLON) {
    const b = start;
    const x0 = words.getInt32(b, true);
    const x1 = words.getInt32(b + 4, true);
    const x2 = words.getInt32(b + 8, true);
    const x3 = buf[b + 12]!;
    if (x0 !== h0 || x1 !== h1 || x2 !== h2 || x3 !== h3) {
      const hour = parseHour(buf, b, run.dates);
      if (hour !== hour) break;
      hourMs = hour - run.offsetMs;
      h0 = x0;
      h1 = x1;
      h2 = x2;
      h3 = x3;
    }
    const i1 = buf[b + 14]! - DIGIT_0;
    const i0 = buf[b + 15]! - DIGIT_0;
    const s1 = buf[b + 17]! - DIGIT_0;
    const s0 = buf[b + 18]! - DIGIT_0;
    // Minutes 00-59, seconds 00-60 (a leap second, as the general parser allows).
    // Unsigned, a byte below '0' wraps past 9 too: one compare per digit.
    if ((i1 >>> 0) > 5 || (i0 >>> 0) > 9 || (s0 >>> 0) > 9 || ((s1 >>> 0) > 5 && !(s1 === 6 && s0 === 0))) break;
    let at = b + 20;
    let c = buf[at]!;
    const negative = c === MINUS;
    if (negative) c = buf[++at]!;
    let mantissa = 0;
    const intStart = at;
    let d = c - DIGIT_0;
    while ((d >>> 0) <= 9) {
      mantissa = mantissa * 10 + d;
      c = buf[++at]!;
      d = c - DIGIT_0;
    }
    let digitCount = at - intStart;
    let fraction = 0;
    if (c === DOT) {
      const fracStart = ++at;
      c = buf[at]!;
      d = c - DIGIT_0;
      while ((d >>> 0) <= 9) {
        mantissa = mantissa * 10 + d;
        c = buf[++at]!;
        d = c - DIGIT_0;
      }
      fraction = at - fracStart;
      digitCount += fraction;
    }
    if (digitCount === 0 || digitCount > 15) break;
    let next: number;
    if (c === NEWLINE) next = at + 1;
    else if (c === CR && buf[at + 1] === NEWLINE) next = at + 2;
    else break;
    if (fraction > decimals) decimals = fraction;
    const value = mantissa / POW10[fraction]!;
    const time = hourMs + ((i1 * 10 + i0) * 60 + s1 * 10 + s0) * 1000;
    if (time <= lastTime) disorder++;
    else lastTime = time;
    rows[length * 2] = time;
    rows[length * 2 + 1] = negative ? -value : value;
    length++;
    accepted++;
    start = next;
  }
  run.length = length;
  run.lastTime = lastTime;
  run.accepted = accepted;
  run.disorder = disorder;
  run.decimals = decimals;
  run.h0 = h0;
  run.h1 = h1;
  run.h2 = h2;
  run.h3 = h3;
  run.hourMs = hourMs;
  return start;
}

/** Epoch ms of the `YYYY-MM-DD HH` at `b` (zone-less, UTC), or NaN. */
function parseHour(buf: Buffer, b: number, dates: DateCache): number {
  if (buf[b + 4] !== MINUS || buf[b + 7] !== MINUS || buf[b + 10] !== SPACE) return NaN;
  const y3 = buf[b]! - DIGIT_0;
  const y2 = buf[b + 1]! - DIGIT_0;
  const y1 = buf[b + 2]! - DIGIT_0;
  const y0 = buf[b + 3]! - DIGIT_0;
  const m1 = buf[b + 5]! - DIGIT_0;
  const m0 = buf[b + 6]! - DIGIT_0;
  const d1 = buf[b + 8]! - DIGIT_0;
  const d0 = buf[b + 9]! - DIGIT_0;
  const o1 = buf[b + 11]! - DIGIT_0;
  const o0 = buf[b + 12]! - DIGIT_0;
  if ((y3 >>> 0) > 9 || (y2 >>> 0) > 9 || (y1 >>> 0) > 9 || (y0 >>> 0) > 9 || (m1 >>> 0) > 9 || (m0 >>> 0) > 9) return NaN;
  if ((d1 >>> 0) > 9 || (d0 >>> 0) > 9 || (o1 >>> 0) > 9 || (o0 >>> 0) > 9) return NaN;
  const hour = o1 * 10 + o0;
  if (hour > 23) return NaN;
  const days = dates.days(((y3 * 10 + y2) * 10 + y1) * 10 + y0, m1 * 10 + m0, d1 * 10 + d0);
  return (days * 24 + hour) * 3_600_000;
}
