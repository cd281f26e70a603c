import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csv, scratchRoot, stamp } from '../test-support/tmp.js';
import { indexPaths, readTrustedMeta } from '../index-format/index.js';
import { indexSignalFile, type IndexJob } from './indexer.js';
import { NotRegularFileError } from './source-file.js';

const scratch = scratchRoot();
afterAll(() => scratch.remove());
const T0 = Date.UTC(2024, 2, 1);
const minutes = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => [stamp(T0 + (from + i) * 60_000), 50 + i / 10] as [string, number]);

function job(signal: string): IndexJob {
  return {
    csvPath: join(scratch.root, 'DEV', `${signal}.csv`),
    indexDir: join(scratch.root, '.bess-index'),
    deviceId: 'DEV',
    signal,
    utcOffsetMs: 0,
  };
}

describe('indexSignalFile', () => {
  it('builds once, then reuses the index while the file is unchanged', async () => {
    scratch.write('DEV', 'bms1_soc', csv('bms1_soc', minutes(100)));
    const first = await indexSignalFile(job('bms1_soc'));
    expect(first.action).toBe('built');
    expect(first.meta.rows).toBe(100);
    expect(first.meta.medianPeriodMs).toBe(60_000);
    const second = await indexSignalFile(job('bms1_soc'));
    expect(second.action).toBe('reused');
    expect(second.bytesRead).toBe(0);
  });

  it('counts readings outside the signal’s physical range, wherever they fall among its pages', async () => {
    // 1,000 readings (four summary pages); three impossible SOC values, in the first and the last page.
    const rows = minutes(1000).map(
      ([t], i) => [t, i === 3 ? -5 : i === 998 ? 101 : i === 999 ? 250 : 40 + (i % 50)] as [string, number],
    );
    const csvPath = scratch.write('RANGE', 'bms1_soc', csv('bms1_soc', rows));
    const built = await indexSignalFile({ ...job('bms1_soc'), csvPath, deviceId: 'RANGE' });
    expect(built.meta.rows).toBe(1000);
    expect(built.meta.quality.outOfRange).toBe(3);
  });

  it('reads only the appended bytes when a file grows (live tail)', async () => {
    const path = scratch.write('DEV', 'bms1_v', csv('bms1_v', minutes(50)));
    const before = await indexSignalFile(job('bms1_v'));
    const extra =
      minutes(10, 50)
        .map(([t, v]) => `${t},${v}\n`)
        .join('') + 'garbage\n';
    appendFileSync(path, extra);
    const after = await indexSignalFile(job('bms1_v'));
    expect(after.action).toBe('appended');
    expect(after.bytesRead).toBe(Buffer.byteLength(extra));
    expect(after.meta.rows).toBe(60);
    expect(after.meta.last).toBe(T0 + 59 * 60_000);
    expect(after.meta.quality.linesRead).toBe(61);
    expect(after.meta.quality.rejected.wrong_column_count).toBe(1);
    expect(before.meta.segments).toEqual([T0, T0 + 49 * 60_000 + 180_000]);
    expect(after.meta.segments).toEqual([T0, T0 + 59 * 60_000 + 180_000]);
  });

  it('stores rows compactly and rebuilds, rather than appends, when new readings need more decimals', async () => {
    const path = scratch.write(
      'DEV',
      'bms1_cell_ave_v',
      csv(
        'bms1_cell_ave_v',
        minutes(300).map(([t], i) => [t, (3.2 + (i % 10) / 100).toFixed(2)] as [string, string]),
      ),
    );
    const before = await indexSignalFile(job('bms1_cell_ave_v'));
    expect(before.meta.rowFormat).toEqual({ kind: 'narrow', scale: 2 });
    appendFileSync(path, `${stamp(T0 + 300 * 60_000)},3.28451\n`);
    const after = await indexSignalFile(job('bms1_cell_ave_v'));
    expect(after.action).toBe('built');
    expect(after.meta.rowFormat).toEqual({ kind: 'compact', scale: 5 });
    expect(after.meta.rows).toBe(301);
    expect(after.meta.lastRow).toEqual([T0 + 300 * 60_000, 3.28451]);
    expect(readTrustedMeta(job('bms1_cell_ave_v').indexDir, 'DEV', 'bms1_cell_ave_v')).not.toBeNull();
  });

  it('keeps 6-byte rows while live readings stay within int16, and rebuilds with 8-byte rows past it', async () => {
    const path = scratch.write('DEV', 'bms1_soc', csv('bms1_soc', minutes(300)));
    const before = await indexSignalFile(job('bms1_soc'));
    expect(before.meta.rowFormat).toEqual({ kind: 'narrow', scale: 1 });
    expect(statSync(indexPaths(job('bms1_soc').indexDir, 'DEV', 'bms1_soc').bin).size).toBe(300 * 6);
    appendFileSync(path, `${stamp(T0 + 300 * 60_000)},3276.7\n`);
    const within = await indexSignalFile(job('bms1_soc'));
    expect(within.action).toBe('appended');
    // An impossible SOC, but a reading all the same: kept exactly, in a format that holds it.
    appendFileSync(path, `${stamp(T0 + 301 * 60_000)},4000.5\n`);
    const past = await indexSignalFile(job('bms1_soc'));
    expect(past.action).toBe('built');
    expect(past.meta.rowFormat).toEqual({ kind: 'compact', scale: 1 });
    expect(past.meta.rows).toBe(302);
    expect(past.meta.lastRow).toEqual([T0 + 301 * 60_000, 4000.5]);
    expect(readTrustedMeta(job('bms1_soc').indexDir, 'DEV', 'bms1_soc')).not.toBeNull();
  });

  it('rebuilds when a file is replaced under the same name or truncated', async () => {
    const path = scratch.write('DEV', 'bms1_c', csv('bms1_c', minutes(30)));
    await indexSignalFile(job('bms1_c'));
    writeFileSync(path, csv('bms1_c', minutes(40, 1000)));
    const replaced = await indexSignalFile(job('bms1_c'));
    expect(replaced.action).toBe('built');
    expect(replaced.meta.first).toBe(T0 + 1000 * 60_000);
    truncateSync(path, 200);
    const truncated = await indexSignalFile(job('bms1_c'));
    expect(truncated.action).toBe('built');
    expect(truncated.meta.rows).toBeLessThan(40);
  });

  it('never trusts a torn index: a .bin shorter than its meta is rebuilt', async () => {
    scratch.write('DEV', 'bms1_soh', csv('bms1_soh', minutes(20)));
    await indexSignalFile(job('bms1_soh'));
    const { bin, meta } = indexPaths(job('bms1_soh').indexDir, 'DEV', 'bms1_soh');
    truncateSync(bin, 16 * 5);
    expect(readTrustedMeta(job('bms1_soh').indexDir, 'DEV', 'bms1_soh')).toBeNull();
    const again = await indexSignalFile(job('bms1_soh'));
    expect(again.action).toBe('built');
    expect(again.meta.rows).toBe(20);
    writeFileSync(meta, '{"version": 2, "signal": "bms1_soh", "rows": ');
    expect((await indexSignalFile(job('bms1_soh'))).action).toBe('built');
    // a flipped byte in the last row is caught too
    const bytes = readFileSync(bin);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(bin, bytes);
    expect(readTrustedMeta(job('bms1_soh').indexDir, 'DEV', 'bms1_soh')).toBeNull();
  });

  it('rebuilds instead of appending rows older than the index', async () => {
    const path = scratch.write('DEV', 'bms1_cell_ave_t', csv('bms1_cell_ave_t', minutes(10, 100)));
    await indexSignalFile(job('bms1_cell_ave_t'));
    appendFileSync(path, `${stamp(T0)},20\n`);
    const bumped = new Date(Date.now() + 5000);
    utimesSync(path, bumped, bumped);
    const result = await indexSignalFile(job('bms1_cell_ave_t'));
    expect(result.action).toBe('built');
    expect(result.meta.first).toBe(T0);
    expect(result.meta.quality.outOfOrder).toBe(1);
  });
});

describe('broken files never stop ingestion and every line is accounted for', () => {
  const totalRejected = (q: { rejected: Record<string, number> }) =>
    Object.values(q.rejected).reduce((a, b) => a + b, 0);

  it('binary garbage with stray quotes and NUL bytes', async () => {
    let seed = 99;
    const bytes = Buffer.alloc(200_000);
    for (let i = 0; i < bytes.length; i++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      bytes[i] = seed & 0xff;
    }
    expect(bytes.includes(0x22) && bytes.includes(0)).toBe(true);
    const good = Buffer.from(`ts,bms1_soc\n${stamp(T0)},42\n`);
    const path = scratch.write('DEV', 'garbage', '');
    writeFileSync(path, Buffer.concat([good, bytes, Buffer.from(`\n${stamp(T0 + 60_000)},43\n`)]));
    const { meta } = await indexSignalFile(job('garbage'));
    const lines = readFileSync(path).toString('latin1').split('\n').length - 2; // minus header and the final empty piece
    expect(meta.quality.linesRead).toBe(lines);
    expect(meta.quality.accepted + totalRejected(meta.quality)).toBe(meta.quality.linesRead);
    expect(meta.quality.parser).toBe('lenient-scanner');
    expect(meta.rows).toBeGreaterThanOrEqual(2);
  });

  it('an empty file and a header-only file hold no readings', async () => {
    scratch.write('DEV', 'empty', '');
    scratch.write('DEV', 'header_only', 'ts,header_only\n');
    for (const signal of ['empty', 'header_only']) {
      const { meta } = await indexSignalFile(job(signal));
      expect(meta.rows).toBe(0);
      expect(meta.quality.linesRead).toBe(0);
      expect(meta.first).toBeNull();
    }
  });

  it('a single 20 MB line is one rejected line, not a crash', async () => {
    scratch.write('DEV', 'long_line', `ts,long_line\n${'9'.repeat(20_000_000)}\n${stamp(T0)},1\n`);
    const { meta } = await indexSignalFile(job('long_line'));
    expect(meta.quality.linesRead).toBe(2);
    expect(meta.quality.rejected.wrong_column_count).toBe(1);
    expect(meta.rows).toBe(1);
  });

  it('never serves a last line caught mid-write: it is pending until its newline arrives', async () => {
    const path = scratch.write('PEND', 'bms1_soc', csv('bms1_soc', minutes(20)));
    const stem = `${stamp(T0 + 20 * 60_000)},5`;
    appendFileSync(path, stem); // the logger wrote "…,5" of what becomes "…,55.3"
    const pendingJob = { ...job('bms1_soc'), csvPath: path, deviceId: 'PEND' };
    const caught = await indexSignalFile(pendingJob);
    expect(caught.meta.rows).toBe(20);
    expect(caught.meta.lastRow![1]).not.toBe(5);
    expect(caught.meta.quality.rejected.truncated).toBe(1);
    appendFileSync(path, '5.3\n');
    const completed = await indexSignalFile(pendingJob);
    expect(completed.action).toBe('appended');
    expect(completed.meta.rows).toBe(21);
    expect(completed.meta.lastRow).toEqual([T0 + 20 * 60_000, 55.3]);
    expect(completed.meta.quality.rejected.truncated).toBe(0);
    expect(completed.meta.quality.linesRead).toBe(21);
  });

  it('reads only the new bytes of a live file after a quoted line, as fast-csv reads them', async () => {
    const path = scratch.write('QUOTE', 'bms1_soc', csv('bms1_soc', minutes(200)));
    const quotedJob = { ...job('bms1_soc'), csvPath: path, deviceId: 'QUOTE' };
    await indexSignalFile(quotedJob);
    appendFileSync(path, `"${stamp(T0 + 200 * 60_000)}","61.5"\n`);
    const quoted = await indexSignalFile(quotedJob);
    expect(quoted.action).toBe('appended');
    expect(quoted.meta.lastRow).toEqual([T0 + 200 * 60_000, 61.5]);
    const tail = `${stamp(T0 + 201 * 60_000)},62\n`;
    appendFileSync(path, tail);
    const next = await indexSignalFile(quotedJob);
    expect(next.action).toBe('appended');
    expect(next.bytesRead).toBe(Buffer.byteLength(tail));
    expect(next.meta.rows).toBe(202);
  });

  it('rebuilds a file rewritten at the same size with its mtime put back', async () => {
    const path = scratch.write('SAME', 'bms1_soc', csv('bms1_soc', minutes(30)));
    const sameJob = { ...job('bms1_soc'), csvPath: path, deviceId: 'SAME' };
    await indexSignalFile(sameJob);
    const { atime, mtime } = statSync(path);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/,50\.1\n/, ',59.1\n'));
    utimesSync(path, atime, mtime);
    const after = await indexSignalFile(sameJob);
    expect(after.action).toBe('built');
    expect(after.meta.rows).toBe(30);
  });

  it('refuses a symbolic link and a named pipe without reading or blocking on them', async () => {
    const outside = scratch.write('ELSEWHERE', 'secret', 'ts,v\n2024-03-01 00:00:00,42\n');
    const link = join(scratch.root, 'DEV', 'leak.csv');
    symlinkSync(outside, link);
    await expect(indexSignalFile({ ...job('leak'), csvPath: link })).rejects.toBeInstanceOf(NotRegularFileError);
    const fifo = join(scratch.root, 'DEV', 'pipe.csv');
    execFileSync('mkfifo', [fifo]);
    const started = performance.now();
    await expect(indexSignalFile({ ...job('pipe'), csvPath: fifo })).rejects.toThrow(/named pipe/);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
