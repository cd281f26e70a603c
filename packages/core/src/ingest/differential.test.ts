import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchRoot } from '../test-support/tmp.js';
import { indexSignalFile } from './indexer.js';
import { ReadingBuilder } from './readings.js';
import { readWithFastCsv } from './reference.js';
import { LineScanner } from './scanner.js';

const scratch = scratchRoot();
afterAll(() => scratch.remove());

/** Every kind of dirt DATA.md warns about, one fixture each, plus their mix. */
const FIXTURES: Record<string, string> = {
  clean: 'ts,bms1_soc\n2024-03-01 00:00:14,51.6\n2024-03-01 00:01:14,51.7\n',
  bom: '\uFEFFts,bms1_soc\n2024-03-01 00:00:14,51.6\n',
  crlf: 'ts,bms1_soc\r\n2024-03-01 00:00:14,51.6\r\n2024-03-01 00:01:14,51.7\r\n',
  blanks: 'ts,bms1_soc\n2024-03-01 00:00:14,\n\n2024-03-01 00:01:14,  \n   \n2024-03-01 00:02:14,52\n',
  nonNumeric:
    'ts,bms1_soc\n2024-03-01 00:00:14,NaN\n2024-03-01 00:01:14,abc\n2024-03-01 00:02:14,inf\n2024-03-01 00:03:14,1e2\n',
  duplicates:
    'ts,bms1_soc\n2024-03-01 00:00:14,51.6\n2024-03-01 00:00:14,51.6\n2024-03-01 00:01:14,51.7\n2024-03-01 00:01:14,51.9\n',
  outOfOrder:
    'ts,bms1_soc\n2024-03-01 00:02:14,3\n2024-03-01 00:00:14,1\n2024-03-01 00:01:14,2\n2024-03-01 00:03:14,4\n',
  cutOff: 'ts,bms1_soc\n2024-03-01 00:00:14,51.6\n2024-03-01 00:0',
  cutOffValue: 'ts,bms1_soc\n2024-03-01 00:00:14,51.6\n2024-03-01 00:01:14,51',
  isoVariants: 'ts,bms1_soc\n2024-03-01T00:00:14Z,1\n2024-03-01T00:00:15.5,2\n2024-03-01 00:00:16.250Z,3\n',
  badTimestamps: 'ts,bms1_soc\n2024-02-30 00:00:00,1\nyesterday,2\n2024-03-01 00:00:14,3\n,4\n',
  columns: 'ts,bms1_soc\n2024-03-01 00:00:14,1,2\njust-one-field\n2024-03-01 00:01:14,3\n2024-03-01 00:02:14,4,\n',
  noHeader: '2024-03-01 00:00:14,51.6\n2024-03-01 00:01:14,51.7\n',
  headerOnly: 'ts,bms1_soc\n',
  empty: '',
  trailingBlankLines: 'ts,bms1_soc\n2024-03-01 00:00:14,51.6\n\n\n',
  spaces: 'ts,bms1_soc\n 2024-03-01 00:00:14 , 51.6 \n\t2024-03-01 00:01:14\t,\t-0.5\n',
  mixed:
    '\uFEFFts,bms1_c\r\n2024-03-01 00:00:14,-12.5\r\n2024-03-01 00:00:14,-12.5\r\n2024-03-01 00:02:14,NaN\r\n' +
    '2024-03-01 00:01:14,3\r\n\r\n2024-03-01 00:03:14,\r\n2024-03-01 00:04:14,7\r\n2024-03-01 00:04:14,8\r\n2024-03-01 00:05',
};

async function both(text: string, chunkBytes: number) {
  const path = scratch.write('DEV', `f${Math.random().toString(36).slice(2)}`, text);
  const size = statSync(path).size;
  const viaScanner = new ReadingBuilder();
  const scanner = new LineScanner(viaScanner);
  const bytes = readFileSync(path);
  for (let at = 0; at < bytes.length; at += chunkBytes) scanner.push(bytes.subarray(at, at + chunkBytes));
  scanner.end();
  const viaFastCsv = new ReadingBuilder();
  await readWithFastCsv(path, viaFastCsv, size);
  return { scanner: viaScanner.finish(), reference: viaFastCsv.finish(), needsFallback: scanner.needsFallback };
}

describe('the byte scanner reads exactly what fast-csv reads', () => {
  for (const [name, text] of Object.entries(FIXTURES)) {
    it(`on ${name}`, async () => {
      for (const chunk of [1, 3, 7, 64, 1 << 20]) {
        const { scanner, reference, needsFallback } = await both(text, chunk);
        expect(needsFallback).toBe(false);
        expect([...scanner.rows]).toEqual([...reference.rows]);
        expect(scanner.rejected).toEqual(reference.rejected);
        expect(scanner.linesRead).toBe(reference.linesRead);
        expect(scanner.outOfOrder).toBe(reference.outOfOrder);
      }
    });
  }

  it('on thousands of random lines, typical and odd, at every chunking', async () => {
    const text = randomLines(3000, 20_261_125);
    for (const chunk of [1, 7, 4096, 1 << 20]) {
      const { scanner, reference } = await both(text, chunk);
      expect([...scanner.rows]).toEqual([...reference.rows]);
      expect(scanner.rejected).toEqual(reference.rejected);
      expect(scanner.linesRead).toBe(reference.linesRead);
      expect(scanner.outOfOrder).toBe(reference.outOfOrder);
    }
  });

  it('on more lines than the fast parser takes at once (1 MiB), pushed whole or read by the indexer', async () => {
    // 4 MiB of lines: the WebAssembly fast path parses them in windows, and the indexer
    // reads a file's chunks straight into its memory; odd lines stop it anywhere in them.
    const text = randomLines(150_000, 20_261_129);
    expect(text.length).toBeGreaterThan(3 << 20);
    const { scanner, reference } = await both(text, 8 << 20);
    expect(scanner.count).toBe(reference.count);
    expect(scanner.rows).toEqual(reference.rows);
    expect(scanner.rejected).toEqual(reference.rejected);
    const csvPath = scratch.write('DEV', 'bms1_c', text);
    const { meta } = await indexSignalFile({
      csvPath,
      indexDir: join(scratch.root, '.index'),
      deviceId: 'DEV',
      signal: 'bms1_c',
      utcOffsetMs: 0,
    });
    expect(meta.rows).toBe(reference.count);
    expect(meta.quality.rejected).toEqual(reference.rejected);
    expect(meta.lastRow).toEqual([
      reference.rows[(reference.count - 1) * 2],
      reference.rows[(reference.count - 1) * 2 + 1],
    ]);
  });

  it('accounts for every line: accepted + rejected = lines read', async () => {
    const { scanner } = await both(FIXTURES.mixed!, 5);
    const rejected = Object.values(scanner.rejected).reduce((a, b) => a + b, 0);
    expect(scanner.count + rejected).toBe(scanner.linesRead);
    expect(scanner.linesRead).toBe(9);
    // the cut-off last line is still being written: counted, never a reading
    expect(scanner.rejected).toMatchObject({
      duplicate: 1,
      superseded: 1,
      non_numeric: 1,
      empty_value: 1,
      blank_line: 1,
      truncated: 1,
    });
    // sorted, and the later of two different values at one time wins
    expect([...scanner.rows]).toEqual([
      Date.UTC(2024, 2, 1, 0, 0, 14),
      -12.5,
      Date.UTC(2024, 2, 1, 0, 1, 14),
      3,
      Date.UTC(2024, 2, 1, 0, 4, 14),
      8,
    ]);
  });

  it('declines quoted CSV so fast-csv can read it', async () => {
    const { needsFallback, reference } = await both('ts,bms1_soc\n"2024-03-01 00:00:14","51.6"\n', 1 << 20);
    expect(needsFallback).toBe(true);
    expect([...reference.rows]).toEqual([Date.UTC(2024, 2, 1, 0, 0, 14), 51.6]);
  });
});

/**
 * `count` seeded random lines (a failure reproduces) under a header. Most are the common
 * shape the fast path takes; the rest probe its edges (hour and date roll-overs, leap days
 * and seconds, long mantissas, signs, CRLF, spaces) and the dirt it must hand to the general path.
 */
function randomLines(count: number, seed: number): string {
  const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const times = [
    '2024-02-28 23:59:59',
    '2024-02-29 00:00:00',
    '2023-02-29 00:00:00',
    '2024-12-31 23:59:60',
    '2024-03-01 00:60:00',
    '2024-03-01 24:00:00',
    '2024-13-01 00:00:00',
    '2024-03-01 00:00:61',
    '2024-03-01T00:00:00',
    '1999-12-31 23:59:59',
  ];
  const values = [
    '0',
    '-0',
    '.5',
    '5.',
    '-',
    '',
    '1e3',
    '12345678901234567',
    '123456789012345',
    '0.000000000000001',
    '+7',
    '-12.5',
    '3.3000',
    ' 4',
    '4 ',
    'x',
  ];
  let t = Date.UTC(2024, 2, 1, 22);
  const lines: string[] = ['ts,bms1_c'];
  for (let i = 0; i < count; i++) {
    t += pick([1000, 30_000, 59_000, 61_000, 3_600_000, 0, -60_000]);
    const d = new Date(t);
    const time =
      rnd() < 0.9
        ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
        : pick(times);
    const value =
      rnd() < 0.85 ? (Math.round((rnd() - 0.5) * 2e6) / 10 ** Math.floor(rnd() * 6)).toString() : pick(values);
    const end = rnd() < 0.05 ? '\r' : '';
    lines.push(rnd() < 0.02 ? `${time},${value},1${end}` : rnd() < 0.01 ? '' : `${time},${value}${end}`);
  }
  return lines.join('\n') + '\n';
}
