import { join } from 'node:path';
import { createBessServer, type BessServer } from '@bess/api';
import { type BessDataset } from '@bess/core';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, TestBed, webDist } from './support';

/** The server goes away and comes back while an operator watches the fleet. */

const bed = new TestBed();
let dataset: BessDataset;
// This test stops and restarts the server itself: not one of the bed's.
let server: BessServer | null = null;
let browser: Browser;

const start = (port: number) => createBessServer({ dataset, port, host: '127.0.0.1', webDist, limits: null });

beforeAll(async () => {
  dataset = await bed.dataset('outage');
  bed.defer(() => server?.close());
  server = await start(0);
  browser = await bed.browser();
});

afterAll(() => bed.close());

describe('a server outage', () => {
  it('keeps the fleet’s last values on screen, dated, and refreshes when the server is back', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const url = server!.url;
    const port = Number(new URL(url).port);
    await page.goto(`${url}/#/fleet`);
    await page.waitForSelector('[data-testid=device-card]');
    const cards = await page.locator('[data-testid=device-card]').allTextContents();

    await server!.close();
    server = null;
    await expect
      .poll(() => page.locator('[data-testid=fleet-stale]').count(), { timeout: 30_000, interval: 500 })
      .toBe(1);
    expect(await page.textContent('[data-testid=fleet-stale]')).toMatch(/cannot be reached: these are the values of/);
    expect(await page.locator('[data-testid=device-card]').allTextContents()).toEqual(cards);
    await page.screenshot({ path: join(artifacts, 'outage-fleet-stale.png') });

    server = await start(port);
    await expect
      .poll(() => page.textContent('[data-testid=connection]'), { timeout: 30_000, interval: 500 })
      .toBe('Connected');
    // Reconnected: every query is read again, so the fleet is live again without a reload.
    await expect
      .poll(() => page.locator('[data-testid=fleet-stale]').count(), { timeout: 15_000, interval: 500 })
      .toBe(0);
    await page.close();
  });
});
