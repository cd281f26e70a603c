import { join } from 'node:path';
import { type BessServer } from '@bess/api';
import type { BessDataset } from '@bess/core';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, TestBed, webDist } from './support';

/**
 * History over the sample's injected outage (every signal of the first cabinet silent from
 * 2024-03-03 02:00 to 06:00 UTC, data/faults.json): no chart draws a line across it.
 */
const DEVICE = 'ZHPESS232A230002';
const GAP = { from: Date.UTC(2024, 2, 3, 2), to: Date.UTC(2024, 2, 3, 6) };

const bed = new TestBed();
let server: BessServer;
let browser: Browser;
let dataset: BessDataset;

beforeAll(async () => {
  dataset = await bed.dataset('history');
  server = await bed.server({ dataset, webDist });
  browser = await bed.browser();
});

afterAll(() => bed.close());

describe('History', () => {
  it('draws no line across an offline gap, in any chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const from = GAP.from - 8 * 3_600_000;
    const to = GAP.to + 8 * 3_600_000;
    await page.goto(`${server.url}/#/device/${DEVICE}/history/${from}-${to}`);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid=history-chart]')?.getAttribute('data-points')) > 0,
    );
    const drawnAfterMs = await page.evaluate(() => performance.now());
    console.log(`History: first chart with data ${drawnAfterMs.toFixed(0)} ms after navigation`);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=history-chart] .recharts-line-curve').length >= 6,
    );
    // Each mean line is one path; a null point starts a new sub-path (M) instead of a line (L) across.
    const moves = await page.$$eval('[data-testid=history-chart] .recharts-line-curve', (paths) =>
      paths.map((p) => (p.getAttribute('d') ?? '').split('M').length - 1),
    );
    expect(moves.length).toBeGreaterThanOrEqual(6);
    for (const m of moves) expect(m).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(artifacts, 'history-offline-gap.png'), fullPage: true });
    await page.close();
  });

  it('keeps its range and picked signals in the URL, and a fresh browser shows the same', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/#/device/${DEVICE}/history`);
    await page.waitForSelector('[data-testid=history-chart]');
    await page.click('[data-testid=preset-week]');
    // Phase current A, from the catalogue-labelled picker (not one of the fixed charts).
    await page.selectOption('[data-testid=signal-picker]', 'pcs1_ia');
    await page.selectOption('[data-testid=signal-picker]', 'dh1_humi');
    await page.waitForSelector('[aria-label="AC current phase A"]');
    await expect.poll(() => page.evaluate(() => location.hash)).toMatch(/\/history\/\d+-\d+\/pcs1_ia,dh1_humi$/);
    const link = page.url();
    const range = await page.textContent('[data-testid=history-range]');
    await context.close();

    const fresh = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const colleague = await fresh.newPage();
    await colleague.goto(link);
    await colleague.waitForSelector('[aria-label="Enclosure humidity"][data-testid=history-chart]');
    expect(await colleague.textContent('[data-testid=history-range]')).toBe(range);
    expect(await colleague.locator('[aria-label="AC current phase A"][data-testid=history-chart]').count()).toBe(1);
    await colleague.screenshot({ path: join(artifacts, 'history-shared-link.png'), fullPage: true });
    await fresh.close();
  });

  it('zooms every chart to a range dragged across one, at finer buckets, with one crosshair; back undoes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const from = Date.UTC(2024, 2, 1);
    const to = Date.UTC(2024, 2, 4);
    await page.goto(`${server.url}/#/device/${DEVICE}/history/${from}-${to}`);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=history-chart] .recharts-line-curve').length >= 6,
    );
    const before = await page.textContent('[data-testid=history-range]');
    const chart = page.locator('[data-testid=history-chart] .recharts-surface').first();
    const box = (await chart.boundingBox())!;

    // Hovering one chart shows the crosshair's values in the others too.
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await expect
      .poll(() => page.locator('[data-testid=history-chart] .recharts-tooltip-wrapper:visible').count())
      .toBeGreaterThanOrEqual(5);

    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => page.textContent('[data-testid=history-range]')).not.toBe(before);
    const hash = await page.evaluate(() => location.hash);
    const [, zf, zt] = /\/history\/(\d+)-(\d+)/.exec(hash)!.map(Number) as [number, number, number];
    // About 15 % of three days, inside them.
    expect(zf).toBeGreaterThan(from);
    expect(zt).toBeLessThan(to);
    expect(zt - zf).toBeGreaterThan(0.08 * (to - from));
    expect(zt - zf).toBeLessThan(0.25 * (to - from));
    // The new range is fetched, not stretched: every chart's buckets lie inside it.
    await page.waitForFunction(
      ({ f, t }) =>
        [...document.querySelectorAll('[data-testid=history-chart]')].every(
          (c) =>
            c.getAttribute('data-from') === String(f) &&
            Number(c.getAttribute('data-first-bucket')) >= f &&
            Number(c.getAttribute('data-last-bucket')) <= t,
        ),
      { f: zf, t: zt },
    );
    const points = Number(await page.getAttribute('[data-testid=history-chart] >> nth=0', 'data-points'));
    expect(points).toBeGreaterThan(100);
    await page.screenshot({ path: join(artifacts, 'history-zoomed.png'), fullPage: true });

    await page.goBack();
    await expect.poll(() => page.textContent('[data-testid=history-range]')).toBe(before);
    await page.close();
  });

  it('shows every time in the browser’s zone once chosen, 24-hour, and keeps the choice', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'Asia/Kolkata' });
    const page = await context.newPage();
    const from = Date.UTC(2024, 2, 2, 0);
    const to = Date.UTC(2024, 2, 2, 12);
    await page.goto(`${server.url}/#/device/${DEVICE}/history/${from}-${to}`);
    const drawn = () =>
      page.waitForFunction(
        () => document.querySelectorAll('[data-testid=history-chart] .recharts-line-curve').length >= 6,
      );
    await drawn();
    expect(await page.textContent('[data-testid=history-range]')).toContain(
      '2024-03-02 00:00 UTC – 2024-03-02 12:00 UTC',
    );
    const ticks = () =>
      page.$$eval('[data-testid=history-chart] .recharts-xAxis-tick-labels text', (els) =>
        els.slice(0, 3).map((e) => e.textContent ?? ''),
      );
    const utcTicks = await ticks();
    expect(utcTicks.length).toBeGreaterThan(0);

    await page.selectOption('[data-testid=time-zone]', 'local');
    await drawn();
    const range = await page.textContent('[data-testid=history-range]');
    expect(range).toContain('2024-03-02 05:30 GMT+5:30 – 2024-03-02 17:30 GMT+5:30');
    expect(await page.inputValue('[data-testid=range-from]')).toBe('2024-03-02 05:30');
    const localTicks = await ticks();
    expect(localTicks).not.toEqual(utcTicks);
    for (const label of localTicks) expect(label).toMatch(/^\d\d:\d\d$|^\d\d-\d\d/);
    await page.screenshot({ path: join(artifacts, 'history-local-zone.png') });

    // The link carries the zone: a colleague in New York opening it reads the same clock.
    const link = page.url();
    // Chromium names Kolkata by its older IANA alias, Asia/Calcutta.
    const named = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(link).toContain(`?tz=${encodeURIComponent(named)}`);
    const elsewhere = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      timezoneId: 'America/New_York',
    });
    const colleague = await elsewhere.newPage();
    await colleague.goto(link);
    await colleague.waitForFunction(
      () => document.querySelectorAll('[data-testid=history-chart] .recharts-line-curve').length >= 6,
    );
    expect(await colleague.textContent('[data-testid=history-range]')).toBe(range);
    expect(await colleague.inputValue('[data-testid=time-zone]')).toBe(named);
    await colleague.screenshot({ path: join(artifacts, 'history-link-zone-elsewhere.png') });
    await elsewhere.close();

    // The choice lasts: a reload keeps it; the URL's range is the same instants.
    await page.reload();
    await drawn();
    expect(await page.textContent('[data-testid=history-range]')).toBe(range);
    await page.selectOption('[data-testid=time-zone]', 'UTC');
    expect(await page.textContent('[data-testid=history-range]')).toContain('2024-03-02 00:00 UTC');
    expect(page.url()).not.toContain('tz=');

    // Passing through a field without typing leaves a range to the second as it was.
    await page.goto(`${server.url}/#/device/${DEVICE}/history/${from}-${to + 30_000}`);
    await drawn();
    const untouched = page.url();
    await page.focus('[data-testid=range-to]');
    await page.focus('[data-testid=range-from]');
    await page.keyboard.press('Tab');
    expect(page.url()).toBe(untouched);
    // The range is typed on a 24-hour clock in the zone shown; a 12-hour time is refused, not guessed.
    await page.fill('[data-testid=range-to]', '2024-03-02 13:45');
    await page.press('[data-testid=range-to]', 'Enter');
    await expect.poll(() => page.textContent('[data-testid=history-range]')).toContain('– 2024-03-02 13:45 UTC');
    expect(page.url()).toContain(`${from}-${Date.UTC(2024, 2, 2, 13, 45)}`);
    await page.fill('[data-testid=range-from]', '03/02/2024 1:45 PM');
    await page.press('[data-testid=range-from]', 'Enter');
    expect(await page.getAttribute('[data-testid=range-from]', 'aria-invalid')).toBe('true');
    expect(await page.textContent('[data-testid=history-range]')).toContain(
      '2024-03-02 00:00 UTC – 2024-03-02 13:45 UTC',
    );
    await context.close();
  });
  it("shows times in the cabinet's site zone once chosen, and off its page says there is none", async () => {
    const sited = await bed.server({ dataset, webDist, sites: new Map([[DEVICE, { timeZone: 'Asia/Tokyo' }]]) });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const from = Date.UTC(2024, 2, 2);
    await page.goto(`${sited.url}/#/device/${DEVICE}/history/${from}-${from + 12 * 3_600_000}`);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=history-chart] .recharts-line-curve').length >= 6,
    );
    expect(await page.textContent('[data-testid=time-zone] option[value=site]')).toBe('Site (Asia/Tokyo)');
    await page.selectOption('[data-testid=time-zone]', 'site');
    await expect
      .poll(() => page.textContent('[data-testid=history-range]'))
      .toContain('2024-03-02 09:00 GMT+9 – 2024-03-02 21:00 GMT+9');
    expect(page.url()).toContain(`?tz=${encodeURIComponent('Asia/Tokyo')}`);
    expect(await page.inputValue('[data-testid=time-zone]')).toBe('site');
    await page.screenshot({ path: join(artifacts, 'history-site-zone.png') });
    // The fleet is no one site: its times fall back to UTC, and the choice says so.
    await page.goto(`${sited.url}/#/`);
    await expect
      .poll(() => page.textContent('[data-testid=time-zone] option[value=site]'))
      .toBe('Site (none set: UTC)');
    await page.close();
  });
});
