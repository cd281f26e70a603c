import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '@bess/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from './ops/auth.js';
import { createBessServer, type BessServer } from './server.js';
import { eventually, SAMPLE, startSampleServer } from './test-support/server.js';

/**
 * File-system faults under a real server: what is left in the data folder must never be read
 * from outside it, must not stop anything else, and must show in /ready and /metrics.
 */
const DEVICE = 'ZHPESS232A230002';
let root: string;
let server: BessServer;
let stop: () => Promise<void>;
let refresh: () => Promise<unknown>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bess-fs-faults-'));
  cpSync(SAMPLE, root, { recursive: true, filter: (src) => !src.includes('.bess-index') });
  const started = await startSampleServer({}, root);
  ({ server, stop } = started);
  refresh = () => started.dataset.refresh();
});
afterAll(async () => {
  await stop();
  rmSync(root, { recursive: true, force: true });
});

const text = async (path: string) => (await fetch(`${server.url}${path}`)).text();

describe('a data folder with traps in it', () => {
  it('refuses a link to /etc/passwd, a named pipe and a device, lists them in /ready and /metrics, and serves the rest', async () => {
    const cabinet = join(root, DEVICE);
    symlinkSync('/etc/passwd', join(cabinet, 'leak.csv'));
    execFileSync('mkfifo', [join(cabinet, 'pipe.csv')]);
    execFileSync('mknod', [join(cabinet, 'null.csv'), 'c', '1', '3']);
    const started = performance.now();
    await refresh();
    expect(performance.now() - started).toBeLessThan(5000);
    const ready = JSON.parse(await text('/ready')) as { problems: { signal: string }[] };
    expect(ready).toMatchObject({ ready: true, refusedFiles: 3, failedFiles: 0 });
    expect(ready.problems.map((p) => p.signal).sort()).toEqual(['leak', 'null', 'pipe']);
    expect(await text('/metrics')).toContain('bess_ingest_problem_files{kind="refused"} 3');
    const summary = await text(
      `/trpc/devices.summary?input=${encodeURIComponent(JSON.stringify({ deviceId: DEVICE }))}`,
    );
    expect(summary).not.toContain('"leak"');
    expect(summary).not.toContain('root:');
    const leak = await fetch(
      `${server.url}/trpc/history.series?input=${encodeURIComponent(JSON.stringify({ deviceId: DEVICE, signals: ['leak'], from: 0, to: 1e13 }))}`,
    );
    expect(leak.status).toBe(404);
    expect(await leak.text()).not.toContain('root:');
  });

  it('ends the open streams of a cabinet whose folder is removed, with a reason', async () => {
    const events: string[] = [];
    const ended = new Promise<void>((resolve) => {
      const req = request(`${server.url}/pcs/ZHPESS232A230003/stream?interval=0.1`, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => events.push(chunk));
        res.on('end', resolve);
      });
      req.on('error', () => resolve());
      req.end();
    });
    await eventually(() => events.join('').includes('data: '));
    rmSync(join(root, 'ZHPESS232A230003'), { recursive: true, force: true });
    await refresh();
    await ended;
    expect(events.join('')).toContain('event: error');
    expect(events.join('')).toContain('is no longer in the data folder');
  });
});

describe('an index that cannot be written', () => {
  it('makes /ready answer 503 naming the file, and counts it in /metrics', async () => {
    const indexDir = mkdtempSync(join(tmpdir(), 'bess-fs-index-'));
    // Root ignores permissions: a plain file where the cabinet's index folder should be blocks every write.
    mkdirSync(indexDir, { recursive: true });
    closeSync(openSync(join(indexDir, 'ZHPESS232A230007'), 'w'));
    const dataset = await openDataset(SAMPLE, { indexDir, workers: 0 });
    const broken = await createBessServer({ dataset, port: 0, host: '127.0.0.1', limits: null });
    try {
      const res = await fetch(`${broken.url}/ready`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as {
        ready: boolean;
        failedFiles: number;
        problems: { deviceId: string; kind: string }[];
      };
      expect(body.ready).toBe(false);
      expect(body.failedFiles).toBe(71);
      expect(body.problems[0]).toMatchObject({ deviceId: 'ZHPESS232A230007', kind: 'failed' });
      expect(await (await fetch(`${broken.url}/metrics`)).text()).toMatch(
        /bess_ingest_problem_files\{kind="failed"\} [1-9]\d*/,
      );
      // The other cabinets are served as usual.
      expect((await fetch(`${broken.url}/bms/ZHPESS232A230002?batch_size=1`)).status).toBe(200);
    } finally {
      await broken.close();
      await dataset.close();
      rmSync(indexDir, { recursive: true, force: true });
    }
  });
});

describe('rate limits', () => {
  it('keep a bucket per key, even for keys that share their first characters and length', async () => {
    const [a, b] = ['abcd-key-1111111111', 'abcd-key-2222222222'];
    const keyed = await startSampleServer({ apiKeys: new ApiKeys([a, b]), limits: { ratePerSecond: 1, burst: 5 } });
    try {
      const statusFor = async (key: string) =>
        (await fetch(`${keyed.server.url}/bms/devices`, { headers: { 'X-API-Key': key } })).status;
      const flood: number[] = [];
      for (let i = 0; i < 10; i++) flood.push(await statusFor(a));
      expect(flood).toContain(429);
      expect(await statusFor(b)).toBe(200);
    } finally {
      await keyed.stop();
    }
  });
});
