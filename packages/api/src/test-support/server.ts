import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset, type BessDataset } from '@bess/core';
import { createBessServer, type BessServer, type ServerOptions } from '../server.js';

/** The committed sample, indexed into a scratch folder so tests never touch data/. */
export const SAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../data');

let lastDataset: BessDataset | null = null;
/** The dataset of the most recently started sample server (for tests of parts below the server). */
export function sharedDataset(): BessDataset {
  if (!lastDataset) throw new Error('start a sample server first');
  return lastDataset;
}

export async function startSampleServer(
  options: Partial<ServerOptions> = {},
  root = SAMPLE,
): Promise<{ server: BessServer; dataset: BessDataset; stop: () => Promise<void> }> {
  const indexDir = mkdtempSync(join(tmpdir(), 'bess-api-index-'));
  const dataset = await openDataset(root, { indexDir, workers: 0 });
  lastDataset = dataset;
  const server = await createBessServer({ dataset, port: 0, host: '127.0.0.1', limits: null, ...options });
  return {
    server,
    dataset,
    async stop() {
      await server.close();
      await dataset.close();
      rmSync(indexDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` is true, polling. */
export async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
