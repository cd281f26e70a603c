import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BessServer } from '@bess/api';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, sample, TestBed, webDist } from './support';

/**
 * Live is live: on a copy of one sample cabinet whose files keep growing, the Live tab opens on
 * the newest readings and draws rows as they are appended to the CSV files.
 */
const DEVICE = 'ZHPESS232A230002';

const bed = new TestBed();
let root: string;
let server: BessServer;
let browser: Browser;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bess-live-data-'));
  bed.defer(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(sample, DEVICE), join(root, DEVICE), { recursive: true });
  const dataset = await bed.dataset('live', root);
  bed.defer(dataset.watch(60_000));
  server = await bed.server({ dataset, webDist });
  browser = await bed.browser();
});

afterAll(() => bed.close());

/** The last line's time of a signal file, as the cabinet logs it (`YYYY-MM-DD HH:MM:SS`, UTC). */
function lastLogged(signal: string): number {
  const lines = readFileSync(join(root, DEVICE, `${signal}.csv`), 'utf8')
    .trimEnd()
    .split('\n');
  return Date.parse(`${lines.at(-1)!.split(',')[0]!.replace(' ', 'T')}Z`);
}
const logTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

describe('Live', () => {
  it('draws the last minutes of the data at once, then each row appended to the files', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const chart = '[data-testid=bms-charts] [data-testid=chart]';
    const asked: string[] = [];
    page.on('request', (r) => asked.push(decodeURIComponent(new URL(r.url()).pathname)));
    await page.goto(`${server.url}/#/device/${DEVICE}/live`);
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-points')) > 0, chart);
    // performance.now() counts from the navigation: the page loaded, connected and drew its first chart.
    const drawnAfterMs = await page.evaluate(() => performance.now());
    console.log(`Live: first chart with data ${drawnAfterMs.toFixed(0)} ms after navigation`);
    expect(drawnAfterMs).toBeLessThan(2000);
    const soc = lastLogged('bms1_soc');
    expect(Date.parse((await page.getAttribute(chart, 'data-last'))!)).toBeGreaterThan(soc - 120_000);
    const shown = Number(await page.getAttribute(chart, 'data-points'));

    for (let k = 1; k <= 3; k++) {
      const t = soc + k * 60_000;
      appendFileSync(join(root, DEVICE, 'bms1_soc.csv'), `${logTime(t)},${41 + k}.0\n`);
      if (k === 1) continue;
      // A record at grid time T shows the readings at or before T: the newest grid point (a whole
      // minute) falls between the last two rows, so it shows the one before (a value no earlier row had).
      await page.waitForFunction(
        ([sel, value]) => document.querySelector(sel)?.getAttribute('data-last-value') === value,
        [chart, String(40 + k)] as const,
        { timeout: 10_000 },
      );
      expect(Date.parse((await page.getAttribute(chart, 'data-last'))!)).toBeGreaterThan(t - 60_000);
    }
    // The window keeps its two hours: new points in, the oldest out.
    expect(Math.abs(Number(await page.getAttribute(chart, 'data-points')) - shown)).toBeLessThanOrEqual(3);
    // The label names the newest reading (the cabinet's span is re-read every 5 s while Live is open),
    // read from the light entry: the signal catalogue (about 300 KB here) is never polled.
    await expect
      .poll(() => page.textContent('[data-testid=latest-reading]'), { timeout: 10_000 })
      .toContain(logTime(soc + 180_000).slice(0, 16));
    expect(asked.filter((p) => p.includes('devices.info')).length).toBeGreaterThanOrEqual(2);
    expect(asked.filter((p) => p.includes('devices.summary'))).toEqual([]);
    await page.screenshot({ path: join(artifacts, 'live-follows-appends.png') });
    await page.close();
  });
});
