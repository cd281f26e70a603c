import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataset } from '@bess/core';
import { eventually, SAMPLE } from './test-support/server.js';

// Indexing runs on worker threads only from the compiled package, so this lives here, above it.
const DEVICE = 'ZHPESS232A230002';
const root = mkdtempSync(join(tmpdir(), 'bess-workers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('indexing workers', () => {
  it('exit when idle, giving their memory back, and start again for new rows', async () => {
    cpSync(join(SAMPLE, DEVICE), join(root, DEVICE), { recursive: true });
    const dataset = await openDataset(root, { indexDir: join(root, '.index'), workers: 2, workerIdleMs: 200 });
    try {
      expect(dataset.indexWorkers).toBe(2); // they just built the index
      await eventually(() => dataset.indexWorkers === 0, 5000);

      const file = join(root, DEVICE, 'bms1_soc.csv');
      const lastLine = readFileSync(file, 'utf8').trimEnd().split('\n').at(-1)!;
      const t = Date.parse(`${lastLine.split(',')[0]!.replace(' ', 'T')}Z`) + 60_000;
      appendFileSync(file, `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')},55.5\n`);
      const change = await dataset.refresh();
      expect(change.devices.get(DEVICE)).toEqual(['bms1_soc']);
      expect(dataset.indexWorkers).toBe(1);
      expect(await dataset.valueAt(DEVICE, 'bms1_soc', t)).toEqual({ t, v: 55.5 });
      await eventually(() => dataset.indexWorkers === 0, 5000);
    } finally {
      await dataset.close();
    }
  });

  it('give up on files that take too long: each job fails and is listed, and none is retried in this thread', async () => {
    const slowRoot = mkdtempSync(join(tmpdir(), 'bess-slow-'));
    cpSync(join(SAMPLE, DEVICE), join(slowRoot, DEVICE), { recursive: true });
    // 1 ms is less than any job takes: every job times out, as one on a hung mount would.
    const dataset = await openDataset(slowRoot, { indexDir: join(slowRoot, '.index'), workers: 2, jobTimeoutMs: 1 });
    try {
      const failed = dataset.health().problems.filter((p) => p.kind === 'failed');
      expect(failed.length).toBe(591);
      expect(failed[0]!.error).toMatch(/took over 1 ms; its worker was replaced/);
    } finally {
      await dataset.close();
      rmSync(slowRoot, { recursive: true, force: true });
    }
  });
});
