import { join } from 'node:path';
import { ApiKeys, type BessServer } from '@bess/api';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, TestBed } from './support';

/** The API's documents as an integrator opens them, on a server that requires keys. */
const KEY = 'integrator-key-docs-123';

const bed = new TestBed();
let server: BessServer;
let browser: Browser;

beforeAll(async () => {
  server = await bed.server({ dataset: await bed.dataset('docs'), apiKeys: new ApiKeys([KEY]) });
  browser = await bed.browser();
});

afterAll(() => bed.close());

describe('API documents', () => {
  it("Swagger UI's Authorize takes a key, and Try it out then answers 200 instead of 401", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const op = '#operations-BMS-getBmsDevices';
    const tryIt = async () => {
      await page.locator(`${op} button.execute`).click();
      const status = page.locator(`${op} .live-responses-table tbody .response-col_status`).first();
      await status.waitFor();
      return (await status.textContent())?.trim();
    };
    await page.goto(`${server.url}/docs`);
    await page.locator(op).click();
    await page.locator(`${op} button.try-out__btn`).click();
    expect(await tryIt()).toBe('401');
    await page.locator('.btn.authorize').click();
    // One form per scheme: bearer, X-API-Key header, api_key query.
    await expect.poll(() => page.locator('.modal-ux input').count()).toBe(3);
    await page.locator('.modal-ux input').first().fill(KEY);
    await page.locator('.modal-ux button.authorize').first().click();
    await page.locator('.modal-ux .close-modal').click();
    await page.locator(`${op} .btn-clear`).click();
    expect(await tryIt()).toBe('200');
    await page.screenshot({ path: join(artifacts, 'docs-1-swagger-authorized.png') });
    await page.close();
  });

  it('ReDoc renders the document from its own package', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.url}/redoc`);
    await expect
      .poll(() => page.locator('h1').first().textContent(), { timeout: 15_000 })
      .toContain('BESS telemetry API');
    await page.locator('h2', { hasText: 'A page of aligned BMS records' }).first().waitFor();
    await page.screenshot({ path: join(artifacts, 'docs-2-redoc.png') });
    await page.close();
  });
});
