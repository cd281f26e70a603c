/**
 * Interpretation of one CSV field, shared by the fast scanner and the fast-csv
 * reference path so both read every byte the same way. Fields arrive as a byte
 * range [start, end) of a buffer; the reference path encodes its strings first.
 */

import { COLON, DIGIT_0, DOT, MINUS, PLUS, SPACE, TAB } from './bytes.js';
import { POW10 } from '../pow10.js';

export function trimStart(buf: Uint8Array, start: number, end: number): number {
  while (start < end && (buf[start] === SPACE || buf[start] === TAB)) start++;
  return start;
}

export function trimEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start && (buf[end - 1] === SPACE || buf[end - 1] === TAB)) end--;
  return end;
}

function digits(buf: Uint8Array, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = buf[i]! - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `YYYY-MM-DD HH:MM:SS` with optional `T` separator, fractional seconds, and a
 * trailing `Z` or `±HH:MM` offset. Zone-less times are UTC (`offsetMs` shifts them
 * for deployments that log local time). Returns epoch ms, or NaN when malformed.
 */
export function parseTimestamp(buf: Uint8Array, start: number, end: number, offsetMs = 0): number {
  start = trimStart(buf, start, end);
  end = trimEnd(buf, start, end);
  if (end - start < 19) return NaN;
  if (buf[start + 4] !== MINUS || buf[start + 7] !== MINUS) return NaN;
  const sep = buf[start + 10];
  if (sep !== SPACE && sep !== 0x54 /* T */) return NaN;
  if (buf[start + 13] !== COLON || buf[start + 16] !== COLON) return NaN;
  const days = dayNumber(buf, start);
  const hour = digits(buf, start + 11, 2);
  const minute = digits(buf, start + 14, 2);
  const second = digits(buf, start + 17, 2);
  if (Number.isNaN(days) || hour < 0 || hour > 23) return NaN;
  if (minute < 0 || minute > 59 || second < 0 || second > 60) return NaN;

  let at = start + 19;
  let millis = 0;
  if (at < end && buf[at] === DOT) {
    at++;
    let scale = 100;
    const fracStart = at;
    while (at < end) {
      const d = buf[at]! - DIGIT_0;
      if (d < 0 || d > 9) break;
      millis += d * scale; // digits beyond the millisecond are truncated
      scale /= 10;
      at++;
    }
    if (at === fracStart) return NaN;
    millis = Math.floor(millis);
  }
  let zone = offsetMs;
  if (at < end) {
    const c = buf[at];
    if (c === 0x5a /* Z */ && at + 1 === end) {
      zone = 0;
    } else if ((c === PLUS || c === MINUS) && end - at === 6 && buf[at + 3] === COLON) {
      const oh = digits(buf, at + 1, 2);
      const om = digits(buf, at + 4, 2);
      if (oh < 0 || om < 0) return NaN;
      zone = (c === PLUS ? 1 : -1) * (oh * 60 + om) * 60_000;
    } else {
      return NaN;
    }
  }
  return (days * 86400 + hour * 3600 + minute * 60 + second) * 1000 + millis - zone;
}

/**
 * Days since the epoch of a calendar date, remembering the last one: consecutive
 * readings share their date, and the profile showed date arithmetic as the largest
 * cost of ingestion. NaN for an impossible date (Feb 30, month 13).
 */
export class DateCache {
  private key = -1;
  private value = NaN;

  days(year: number, month: number, day: number): number {
    const key = year * 10000 + month * 100 + day;
    if (key === this.key) return this.value;
    if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return NaN;
    if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return NaN;
    this.key = key;
    this.value = daysFromCivil(year, month, day);
    return this.value;
  }
}

const dates = new DateCache();

/** Days since the epoch of the `YYYY-MM-DD` at `at`, or NaN for an impossible date. */
function dayNumber(buf: Uint8Array, at: number): number {
  const year = digits(buf, at, 4);
  const month = digits(buf, at + 5, 2);
  const day = digits(buf, at + 8, 2);
  if (year < 0 || month < 0 || day < 0) return NaN;
  return dates.days(year, month, day);
}

const NUMBER_SYNTAX = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const decoder = new TextDecoder();

/** A parsed value, or why the field is not one. */
export type ValueResult = number | 'empty_value' | 'non_numeric';

/**
 * A decimal reading. The common shape (`-12.34`) is parsed straight from bytes:
 * an integer mantissa below 2^53 divided by an exact power of ten rounds exactly
 * like `Number()`. Anything else (exponents, long mantissas) goes through `Number()`
 * after a strict syntax check, so `NaN`, `inf`, `0x1f` and text are rejected.
 */
export function parseValue(buf: Uint8Array, start: number, end: number): ValueResult {
  start = trimStart(buf, start, end);
  end = trimEnd(buf, start, end);
  if (start === end) return 'empty_value';
  let at = start;
  let negative = false;
  if (buf[at] === MINUS || buf[at] === PLUS) {
    negative = buf[at] === MINUS;
    at++;
  }
  let mantissa = 0;
  let digitCount = 0;
  let fraction = 0;
  let seenDot = false;
  for (; at < end; at++) {
    const c = buf[at]!;
    const d = c - DIGIT_0;
    if (d >= 0 && d <= 9) {
      mantissa = mantissa * 10 + d;
      digitCount++;
      if (seenDot) fraction++;
    } else if (c === DOT && !seenDot) {
      seenDot = true;
    } else {
      break;
    }
  }
  if (at === end && digitCount > 0 && digitCount <= 15 && fraction < POW10.length) {
    const value = mantissa / POW10[fraction]!;
    return negative ? -value : value;
  }
  const text = decoder.decode(buf.subarray(start, end));
  if (!NUMBER_SYNTAX.test(text)) return 'non_numeric';
  const value = Number(text);
  return Number.isFinite(value) ? value : 'non_numeric';
}
