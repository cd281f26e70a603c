import { describe, expect, it } from 'vitest';
import { parseTimestamp, parseValue } from './fields.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const ts = (s: string, offset = 0) => parseTimestamp(bytes(s), 0, bytes(s).length, offset);
const val = (s: string) => parseValue(bytes(s), 0, bytes(s).length);

describe('parseTimestamp', () => {
  it('reads the files’ zone-less format as UTC', () => {
    expect(ts('2024-03-01 00:00:14')).toBe(Date.UTC(2024, 2, 1, 0, 0, 14));
  });
  it('accepts a T separator, a trailing Z, fractional seconds and offsets', () => {
    expect(ts('2024-03-01T00:00:14Z')).toBe(Date.UTC(2024, 2, 1, 0, 0, 14));
    expect(ts('2024-03-01T00:00:14.250')).toBe(Date.UTC(2024, 2, 1, 0, 0, 14, 250));
    expect(ts('2024-03-01 00:00:14.123456Z')).toBe(Date.UTC(2024, 2, 1, 0, 0, 14, 123));
    expect(ts('2024-03-01T02:00:14+02:00')).toBe(Date.UTC(2024, 2, 1, 0, 0, 14));
    expect(ts('  2024-03-01 00:00:14 ')).toBe(Date.UTC(2024, 2, 1, 0, 0, 14));
  });
  it('applies a configured offset only to zone-less times', () => {
    expect(ts('2024-03-01 01:00:00', 3_600_000)).toBe(Date.UTC(2024, 2, 1, 0, 0, 0));
    expect(ts('2024-03-01 01:00:00Z', 3_600_000)).toBe(Date.UTC(2024, 2, 1, 1, 0, 0));
  });
  it('agrees with Date.UTC across leap years and centuries', () => {
    for (const [y, m, d] of [
      [2000, 2, 29],
      [2023, 12, 31],
      [2024, 2, 29],
      [1999, 1, 1],
      [2100, 3, 1],
    ] as const) {
      const text = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')} 23:59:59`;
      expect(ts(text)).toBe(Date.UTC(y, m - 1, d, 23, 59, 59));
    }
  });
  it('rejects malformed and impossible times', () => {
    for (const bad of [
      '',
      'ts',
      '2024-03-01',
      '2024-13-01 00:00:00',
      '2023-02-29 00:00:00',
      '2024-04-31 00:00:00',
      '2024-03-01 24:00:00',
      '2024-03-01 00:60:00',
      '2024/03/01 00:00:00',
      '2024-03-01 00:00:14.',
      '2024-03-01 00:00:14X',
      '2024-03-01 00:0',
      'NaN',
    ]) {
      expect(ts(bad), bad).toBeNaN();
    }
  });
});

describe('parseValue', () => {
  it('reads decimals exactly as Number() does', () => {
    for (const s of [
      '51.6',
      '-12.34',
      '0',
      '-0.001',
      '3.3215',
      '832.9',
      '+7',
      '1e3',
      '2.5E-2',
      '.5',
      '5.',
      '123456789012345678',
    ]) {
      expect(val(s), s).toBe(Number(s));
    }
  });
  it('matches Number() on many random readings', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      const s = (rnd() * 2000 - 1000).toFixed(Math.floor(rnd() * 7));
      expect(val(s)).toBe(Number(s));
    }
  });
  it('says why a field is not a reading', () => {
    expect(val('')).toBe('empty_value');
    expect(val('   ')).toBe('empty_value');
    for (const s of ['NaN', 'nan', 'inf', 'Infinity', 'abc', '1.2.3', '0x10', '12a', '-', '1e999']) {
      expect(val(s), s).toBe('non_numeric');
    }
  });
});
