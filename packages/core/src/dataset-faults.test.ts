import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDataset } from './dataset.js';
import { indexPaths } from './index-format/index.js';
import { csv, scratchRoot, stamp } from './test-support/tmp.js';
import { IndexDamagedError, type BessDataset, type BucketSeries, type Series } from './types.js';

const T0 = Date.UTC(2024, 2, 1);
const minutes = (n: number, f: (i: number) => number = (i) => 20 + (i % 600) / 10): [string, number][] =>
  Array.from({ length: n }, (_, i) => [stamp(T0 + i * 60_000), f(i)]);

/** File-system faults: what a careless operator or an attacker can leave in the data folder. */
describe('file-system faults', () => {
  const opened: { dataset: BessDataset; remove: () => void }[] = [];
  afterEach(async () => {
    for (const { dataset, remove } of opened.splice(0)) {
      await dataset.close();
      remove();
    }
  });
  async function open(
    fill: (write: (device: string, signal: string, text: string) => string, root: string) => void,
    indexDir?: string,
  ) {
    const scratch = scratchRoot();
    fill(scratch.write, scratch.root);
    const dataset = await openDataset(scratch.root, { workers: 0, ...(indexDir ? { indexDir } : {}) });
    opened.push({ dataset, remove: scratch.remove });
    return { dataset, root: scratch.root };
  }

  it('serves nothing from a link that points outside the data folder, by discovery or by notice', async () => {
    const outside = scratchRoot();
    outside.write('etc', 'passwd', 'root:x:0:0:root:/root:/bin/bash\n2024-03-01 00:00:00,1234\n');
    const { dataset, root } = await open((write) => write('CAB1', 'bms1_soc', csv('bms1_soc', minutes(10))));
    symlinkSync(join(outside.root, 'etc', 'passwd.csv'), join(root, 'CAB1', 'leak.csv'));
    const stop = dataset.watch(60_000);
    await new Promise((r) => setTimeout(r, 400)); // the notice arrives and is acted on
    expect(dataset.device('CAB1').signals.map((s) => s.signal)).toEqual(['bms1_soc']);
    await dataset.refresh();
    expect(dataset.device('CAB1').signals.map((s) => s.signal)).toEqual(['bms1_soc']);
    expect(dataset.health().problems).toMatchObject([{ deviceId: 'CAB1', signal: 'leak', kind: 'refused' }]);
    stop();
    outside.remove();
  });

  it('keeps indexing every other file when one is a named pipe, and closes promptly', async () => {
    const { dataset, root } = await open((write) => {
      write('CAB1', 'bms1_soc', csv('bms1_soc', minutes(10)));
      write('CAB2', 'bms1_soc', csv('bms1_soc', minutes(10)));
    });
    execFileSync('mkfifo', [join(root, 'CAB1', 'x.csv')]);
    const stop = dataset.watch(60_000);
    appendFileSync(join(root, 'CAB2', 'bms1_soc.csv'), `${stamp(T0 + 10 * 60_000)},77\n`);
    const started = performance.now();
    await dataset.refresh();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(dataset.device('CAB2').signals[0]!.rows).toBe(11);
    expect(dataset.health().problems).toMatchObject([{ deviceId: 'CAB1', signal: 'x', kind: 'refused' }]);
    stop();
  });

  it('detects damaged index bytes when reading them, and rebuilds the index from its CSV', async () => {
    const { dataset, root } = await open((write) => write('CAB1', 'bms1_soc', csv('bms1_soc', minutes(20_000))));
    const bin = indexPaths(join(root, '.bess-index'), 'CAB1', 'bms1_soc').bin;
    // 40 KB of zeros in the middle of the index, under the running server (its cache is cold there).
    const fd = openSync(bin, 'r+');
    writeSync(fd, Buffer.alloc(40_000), 0, 40_000, 40_000);
    closeSync(fd);
    const from = T0 + 8_000 * 60_000;
    await expect(dataset.readSignal('CAB1', 'bms1_soc', from, from + 3_000 * 60_000)).rejects.toBeInstanceOf(
      IndexDamagedError,
    );
    expect(dataset.health().damagedBlocks).toBeGreaterThan(0);
    // The rebuild runs in the background; then the same range reads as the CSV says.
    let series: Series | null = null;
    for (let i = 0; i < 100 && !series; i++) {
      await new Promise((r) => setTimeout(r, 20));
      series = await dataset.readSignal('CAB1', 'bms1_soc', from, from + 3_000 * 60_000).catch(() => null);
    }
    expect(series!.t.length).toBe(3_001);
    expect(series!.v[0]).toBe(20 + (8_000 % 600) / 10);
  });

  it('detects damaged page summaries before downsampling with them, and rebuilds them', async () => {
    const { dataset, root } = await open((write) => write('CAB1', 'bms1_soc', csv('bms1_soc', minutes(5_000))));
    const sum = indexPaths(join(root, '.bess-index'), 'CAB1', 'bms1_soc').sum;
    const fd = openSync(sum, 'r+');
    writeSync(fd, Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)), 0, 64, 16);
    closeSync(fd);
    const range = [T0, T0 + 3 * 86_400_000] as const;
    await expect(dataset.downsample('CAB1', 'bms1_soc', ...range, 20)).rejects.toBeInstanceOf(IndexDamagedError);
    let buckets: BucketSeries | null = null;
    for (let i = 0; i < 100 && !buckets; i++) {
      await new Promise((r) => setTimeout(r, 20));
      buckets = await dataset.downsample('CAB1', 'bms1_soc', ...range, 20).catch(() => null);
    }
    expect(Math.min(...buckets!.min)).toBe(20);
    expect(Math.max(...buckets!.max)).toBe(79.9);
  });

  it('removes temporary index files a killed process left behind, and keeps a live one’s', async () => {
    const scratch = scratchRoot();
    const indexDir = join(scratch.root, 'index');
    mkdirSync(join(indexDir, 'CAB1'), { recursive: true });
    const dead = join(indexDir, 'CAB1', 'bms1_soc.bin.tmp-999999999');
    const live = join(indexDir, 'CAB1', `bms1_soc.sum.tmp-${process.pid}`);
    for (const path of [dead, live]) closeSync(openSync(path, 'w'));
    await open((write) => write('CAB1', 'bms1_soc', csv('bms1_soc', minutes(10))), indexDir);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    scratch.remove();
  });

  // Root ignores permissions, so the index is made unwritable by a file where its folder should be.
  it('reports an index that cannot be written in its health, and recovers once it can', async () => {
    const scratch = scratchRoot();
    const indexDir = join(scratch.root, 'index');
    mkdirSync(indexDir);
    // A plain file named like the device's index folder: no index can be written under it.
    closeSync(openSync(join(indexDir, 'CAB1'), 'w'));
    const { dataset, root } = await open((write) => write('CAB1', 'bms1_soc', csv('bms1_soc', minutes(10))), indexDir);
    expect(dataset.health().problems).toMatchObject([{ deviceId: 'CAB1', signal: 'bms1_soc', kind: 'failed' }]);
    renameSync(join(indexDir, 'CAB1'), join(indexDir, 'CAB1.moved'));
    appendFileSync(join(root, 'CAB1', 'bms1_soc.csv'), `${stamp(T0 + 10 * 60_000)},50\n`);
    await dataset.refresh();
    expect(dataset.health().problems).toEqual([]);
    expect(dataset.device('CAB1').signals[0]!.rows).toBe(11);
    scratch.remove();
  });
});
