import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlarmStore, openPglite, type SqlDatabase } from '@bess/alarms';
import { createBessServer, type BessServer, type ServerOptions } from '@bess/api';
import { openDataset, type BessDataset } from '@bess/core';
import { CHROMIUM_LAUNCH } from '@bess/test-servers';
import { chromium, type Browser } from 'playwright-core';

/** What every browser test shares: where things are, and Debian's chromium as the brief launches it. */
const here = dirname(fileURLToPath(import.meta.url));
export const webDist = resolve(here, '../dist');
export const sample = resolve(here, '../../../data');
export const artifacts = resolve(here, '../test-artifacts');

/** Debian's chromium, headless, with the screenshot folder ready. */
function launchChromium(): Promise<Browser> {
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch(CHROMIUM_LAUNCH);
}

/**
 * What a browser test sets up (data with a throwaway index, an alarm store, a server on a free
 * loopback port, Chromium), each closed by `close()`, the last opened first.
 */
export class TestBed {
  private readonly closers: (() => unknown)[] = [];

  /** Runs `close` with the rest of the bed's closing. */
  defer(close: () => unknown): void {
    this.closers.push(close);
  }

  /** The data under `root` (the bundled sample by default), indexed into a folder removed at the end. */
  async dataset(name: string, root = sample): Promise<BessDataset> {
    const indexDir = mkdtempSync(join(tmpdir(), `bess-${name}-index-`));
    this.defer(() => rmSync(indexDir, { recursive: true, force: true }));
    const dataset = await openDataset(root, { indexDir, workers: 0 });
    this.defer(() => dataset.close());
    return dataset;
  }

  /** An alarm store in an in-memory PGlite. */
  async alarms(): Promise<{ db: SqlDatabase; store: AlarmStore }> {
    const db = await openPglite('memory://');
    this.defer(() => db.close());
    return { db, store: await AlarmStore.open(db) };
  }

  /** A server on 127.0.0.1 at a free port, without per-client limits (one browser calls it). */
  async server(options: ServerOptions): Promise<BessServer> {
    const server = await createBessServer({ port: 0, host: '127.0.0.1', limits: null, ...options });
    this.defer(() => server.close());
    return server;
  }

  async browser(): Promise<Browser> {
    const browser = await launchChromium();
    this.defer(() => browser.close());
    return browser;
  }

  /** Closes everything, the last opened first; every closer runs even when one fails. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    for (const close of this.closers.splice(0).reverse())
      try {
        await close();
      } catch (error) {
        failures.push(error);
      }
    if (failures.length) throw failures[0];
  }
}
