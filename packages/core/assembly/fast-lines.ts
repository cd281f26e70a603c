/**
 * The scanner's fast path, in AssemblyScript (compiled to WebAssembly by `asc` at build
 * time, into dist/fast-lines.wasm). It parses the common line,
 * `YYYY-MM-DD HH:MM:SS,-12.34\n` (or `\r\n`), in 6-7 ns where the same loop in
 * JavaScript took 14-18: plain loads from linear memory, with no bounds checks,
 * deoptimisation or boxed numbers. Anything else stops it, and the JavaScript
 * side hands that line to the general parser (src/ingest/fields.ts).
 *
 * The JavaScript side (src/ingest/fast-lines.ts) has the indexer read chunks into
 * `reads` (or copies a window of whole lines to `input`), calls `parse`, and copies
 * the `[t, v]` pairs it wrote at `output` into the file's rows. The file's state
 * between calls (the day and hour held, the latest time) lives in the exported
 * globals, which it saves and restores per file.
 */

/**
 * Epoch ms of the midnight starting `YYYY-MM-DD` (digits already checked) less the
 * run's UTC offset, or NaN for an impossible date: imported, so the calendar rules
 * stay in one place (fields.ts). Called once per day of data, not per line.
 */
@external("env", "dayMs")
declare function dayMs(year: i32, month: i32, day: i32): f64;

const NEWLINE: u32 = 0x0a;
const CR: u32 = 0x0d;
const SPACE: u32 = 0x20;
const COMMA: u32 = 0x2c;
const MINUS: u32 = 0x2d;
const DOT: u32 = 0x2e;
const DIGIT_0: u32 = 0x30;
const COLON: u32 = 0x3a;

/** The shortest line taken: a 19-byte timestamp, a comma, one digit, a newline. */
export const FAST_MIN_LINE: i32 = 22;
/** The most bytes one call parses. */
export const INPUT_BYTES: i32 = 1 << 20;
const OUTPUT_ROWS: i32 = INPUT_BYTES / FAST_MIN_LINE + 1;
/**
 * Two places lines are parsed from (16 spare bytes each, so no load crosses into the next
 * region): `reads`, where the indexer reads a file's chunks straight in, and `input`, where
 * the caller copies lines from anywhere else.
 */
export const reads: usize = memory.data(INPUT_BYTES + 16);
export const input: usize = memory.data(INPUT_BYTES + 16);
/** Where `parse` writes `[t, v]` as float64 pairs, one per line taken. */
export const output: usize = memory.data(OUTPUT_ROWS * 16, 16);

/** Powers of ten that are exact doubles: `mantissa / 10^k` rounds exactly as `Number()` does. */
const POW10: StaticArray<f64> = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

// The run's state, read and set by the caller around each call.
/** The latest time taken so far, and how many lines were not after it (this call). */
export let lastTime: f64 = -Infinity;
export let disorder: i32 = 0;
/** The most decimals of a value (this call). */
export let decimals: i32 = 0;
/** Lines taken by the last call. */
export let taken: i32 = 0;
/**
 * The hour held: lines of one hour share their first 13 bytes (`YYYY-MM-DD HH`), kept as
 * three 32-bit words and a byte; while a line's match, `hourBase` is reused and only MM:SS
 * is parsed. `h3 = -1` (no byte has it) means none is held.
 */
export let h0: i32 = 0;
export let h1: i32 = 0;
export let h2: i32 = 0;
export let h3: i32 = -1;
export let hourBase: f64 = 0;
/** The day held (`YYYYMMDD`, -1: none) and its midnight's epoch ms, from `dayMs`. */
export let dayKey: i32 = -1;
export let dayBase: f64 = 0;

/** A digit's value, or above 9 for any other byte (unsigned: bytes below '0' wrap). */
@inline function digitAt(p: usize): u32 {
  return <u32>load<u8>(p) - DIGIT_0;
}

/** Epoch ms of the `YYYY-MM-DD HH` at `b`, or NaN. */
function parseHour(b: usize): f64 {
  if (<u32>load<u8>(b + 4) != MINUS || <u32>load<u8>(b + 7) != MINUS || <u32>load<u8>(b + 10) != SPACE) return NaN;
  const y3 = digitAt(b), y2 = digitAt(b + 1), y1 = digitAt(b + 2), y0 = digitAt(b + 3);
  const m1 = digitAt(b + 5), m0 = digitAt(b + 6), d1 = digitAt(b + 8), d0 = digitAt(b + 9);
  const o1 = digitAt(b + 11), o0 = digitAt(b + 12);
  if (y3 > 9 || y2 > 9 || y1 > 9 || y0 > 9 || m1 > 9 || m0 > 9 || d1 > 9 || d0 > 9 || o1 > 9 || o0 > 9) return NaN;
  const hour = o1 * 10 + o0;
  if (hour > 23) return NaN;
  const year = <i32>(((y3 * 10 + y2) * 10 + y1) * 10 + y0), month = <i32>(m1 * 10 + m0), day = <i32>(d1 * 10 + d0);
  const key = (year * 100 + month) * 100 + day;
  if (key != dayKey) {
    const midnight = dayMs(year, month, day);
    if (isNaN(midnight)) return NaN;
    dayKey = key;
    dayBase = midnight;
  }
  return dayBase + <f64>(hour * 3_600_000);
}

/**
 * Parses lines from address `start` (in `reads` or `input`) until a line that is not
 * the common shape or the newline at address `lastNewline` is passed; returns the
 * address it stopped at. Every line up to `lastNewline` ends in a newline, so the
 * byte loops stop there; they are at most INPUT_BYTES, so `output` holds every row.
 */
export function parse(start: usize, lastNewline: usize): usize {
  let b: usize = start;
  const stop: usize = lastNewline;
  let out: usize = output;
  let n: i32 = 0;
  let latest = lastTime;
  let late = disorder;
  let most = decimals;
  let k0 = h0, k1 = h1, k2 = h2, k3 = h3;
  let base = hourBase;
  while (b + <usize>(FAST_MIN_LINE - 1) <= stop && <u32>load<u8>(b + 19) == COMMA && <u32>load<u8>(b + 13) == COLON && <u32>load<u8>(b + 16) == COLON) {
    const x0 = load<i32>(b), x1 = load<i32>(b + 4), x2 = load<i32>(b + 8), x3 = <i32>load<u8>(b + 12);
    if (x0 != k0 || x1 != k1 || x2 != k2 || x3 != k3) {
      const hour = parseHour(b);
      if (isNaN(hour)) break;
      base = hour;
      k0 = x0;
      k1 = x1;
      k2 = x2;
      k3 = x3;
    }
    const i1 = digitAt(b + 14), i0 = digitAt(b + 15), s1 = digitAt(b + 17), s0 = digitAt(b + 18);
    // Minutes 00-59, seconds 00-60 (a leap second, as the general parser allows).
    if (i1 > 5 || i0 > 9 || s0 > 9 || (s1 > 5 && !(s1 == 6 && s0 == 0))) break;
    let at: usize = b + 20;
    let c = <u32>load<u8>(at);
    const negative = c == MINUS;
    if (negative) c = <u32>load<u8>(++at);
    let mantissa: i64 = 0;
    const intStart = at;
    let d = c - DIGIT_0;
    while (d <= 9) {
      mantissa = mantissa * 10 + <i64>d;
      c = <u32>load<u8>(++at);
      d = c - DIGIT_0;
    }
    let digitCount = <i32>(at - intStart);
    let fraction: i32 = 0;
    if (c == DOT) {
      const fracStart = ++at;
      c = <u32>load<u8>(at);
      d = c - DIGIT_0;
      while (d <= 9) {
        mantissa = mantissa * 10 + <i64>d;
        c = <u32>load<u8>(++at);
        d = c - DIGIT_0;
      }
      fraction = <i32>(at - fracStart);
      digitCount += fraction;
    }
    // Up to 15 digits: the mantissa is below 2^53, so exact as a double.
    if (digitCount == 0 || digitCount > 15) break;
    let next: usize = 0;
    if (c == NEWLINE) next = at + 1;
    else if (c == CR && <u32>load<u8>(at + 1) == NEWLINE) next = at + 2;
    else break;
    if (fraction > most) most = fraction;
    const value = <f64>mantissa / unchecked(POW10[fraction]);
    const time = base + <f64>(((i1 * 10 + i0) * 60 + s1 * 10 + s0) * 1000);
    if (time <= latest) late++;
    else latest = time;
    store<f64>(out, time);
    store<f64>(out, negative ? -value : value, 8);
    out += 16;
    n++;
    b = next;
  }
  taken = n;
  lastTime = latest;
  disorder = late;
  decimals = most;
  h0 = k0;
  h1 = k1;
  h2 = k2;
  h3 = k3;
  hourBase = base;
  return b;
}
