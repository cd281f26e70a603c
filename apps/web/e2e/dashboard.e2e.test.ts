import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type AlarmStore, type SqlDatabase } from '@bess/alarms';
import { ApiKeys, createBessServer, type BessServer } from '@bess/api';
import { type BessDataset } from '@bess/core';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, TestBed, webDist } from './support';

/**
 * The dashboard in a real browser (Debian's chromium) against the real server on
 * the bundled sample: what an operator sees, checked and photographed.
 */

const bed = new TestBed();
let dataset: BessDataset;
let server: BessServer;
let browser: Browser;
let page: Page;
let alarmDb: SqlDatabase;
let alarms: AlarmStore;

beforeAll(async () => {
  if (!existsSync(join(webDist, 'index.html')))
    throw new Error('apps/web/dist is missing: run the build first (pnpm test does)');
  dataset = await bed.dataset('e2e');
  ({ db: alarmDb, store: alarms } = await bed.alarms());
  server = await bed.server({ dataset, webDist, alarms: { store: alarms, notifier: null } });
  browser = await bed.browser();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

afterAll(() => bed.close());

const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
const points = (selector: string) =>
  page.$$eval(selector, (els) => els.map((e) => Number(e.getAttribute('data-points'))));

describe('operator dashboard', () => {
  it('shows every cabinet on the fleet overview with its latest state', async () => {
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=device-card]');
    const cards = await page.$$eval('[data-testid=device-card]', (els) => els.map((e) => e.textContent ?? ''));
    expect(cards).toHaveLength(3);
    expect(cards[0]).toContain('ZHPESS232A230002');
    expect(cards[0]).toMatch(/SOC\s*\d+(\.\d)? %/);
    expect(cards[0]).toMatch(/Pack voltage\s*\d+ V/);
    // Fleet figures: cabinets reporting (the sample is from 2024: none), pack power and energy, as the API has them.
    expect(await page.textContent('[data-testid=fleet-reporting]')).toBe('0 of 3');
    const overview = (
      (await (await fetch(`${server.url}/trpc/devices.overview`)).json()) as {
        result: { data: { energy24h: { chargedKwh: number; dischargedKwh: number } | null }[] };
      }
    ).result.data;
    const charged = overview.reduce((n, d) => n + (d.energy24h?.chargedKwh ?? 0), 0);
    const discharged = overview.reduce((n, d) => n + (d.energy24h?.dischargedKwh ?? 0), 0);
    expect(charged).toBeGreaterThan(10);
    expect(discharged).toBeGreaterThan(10);
    expect(await page.textContent('[data-testid=fleet-energy]')).toBe(
      `${charged.toFixed(0)} kWh charged · ${discharged.toFixed(0)} kWh discharged`,
    );
    expect(await page.textContent('[data-testid=fleet-power]')).toMatch(/^\d+ kW charging · \d+ kW discharging$/);
    await shot('1-fleet');
  });

  it('opens Live on the newest data, and replays from a chosen time at a chosen speed', async () => {
    await page.click('[data-testid=device-card] >> nth=0');
    await page.waitForSelector('[data-testid=bms-charts] [data-testid=chart]');
    // The last two hours up to the cabinet's latest reading, drawn at once: 120 one-minute BMS records.
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid=bms-charts] [data-testid=chart]')?.getAttribute('data-points')) >=
        100,
    );
    const last = dataset.device('ZHPESS232A230002').last!;
    const newest = await page.getAttribute('[data-testid=bms-charts] [data-testid=chart]', 'data-last');
    expect(last - Date.parse(newest!)).toBeLessThan(120_000);
    expect(await page.textContent('[data-testid=latest-reading]')).toMatch(
      new RegExp(`^Latest reading ${new Date(last).toISOString().slice(0, 10)} \\d\\d:\\d\\d UTC, \\d+ days ago$`),
    );
    // Charts are drawn one a frame after the first: PCS's follow BMS's.
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid=pcs-charts] [data-testid=chart]')?.getAttribute('data-points')) >
        100,
    );
    expect(await page.textContent('[data-testid=connection]')).toBe('Connected');
    // axes carry units
    expect(await page.textContent('[data-testid=bms-charts]')).toContain('(%)');
    await shot('2-live');

    await page.click('[data-testid=mode-replay]');
    await page.selectOption('[data-testid=interval]', '0.1');
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid=bms-charts] [data-testid=chart]')?.getAttribute('data-points')) >=
        5,
    );
    const before = await points('[data-testid=bms-charts] [data-testid=chart]');
    await page.waitForTimeout(1500);
    const after = await points('[data-testid=bms-charts] [data-testid=chart]');
    expect(after[0]!).toBeGreaterThan(before[0]!);
    expect(await page.textContent('[data-testid=latest-reading]')).toMatch(/^Replaying 2024-03-01 /);
    await shot('2b-replay');

    await page.click('[data-testid=pause]');
    await page.waitForTimeout(300);
    const paused = await points('[data-testid=bms-charts] [data-testid=chart]');
    await page.waitForTimeout(800);
    expect(await points('[data-testid=bms-charts] [data-testid=chart]')).toEqual(paused);
    await page.click('[data-testid=pause]');
    await page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid=bms-charts] [data-testid=chart]')?.getAttribute('data-points')) > n,
      paused[0]!,
    );
    await page.click('[data-testid=mode-live]');
  });

  it('renders history over a month-long range from downsampled series', async () => {
    await page.click('[data-testid=tab-history]');
    await page.click('[data-testid=preset-month]');
    await page.waitForSelector('[data-testid=history-chart]');
    // BMS and PCS charts arrive from separate queries: wait for both sets
    await page.waitForFunction(() => {
      const charts = [...document.querySelectorAll('[data-testid=history-chart]')];
      return charts.length >= 6 && charts.every((e) => Number(e.getAttribute('data-points')) > 50);
    });
    const counts = await points('[data-testid=history-chart]');
    expect(counts.length).toBeGreaterThanOrEqual(6);
    expect(Math.max(...counts)).toBeLessThanOrEqual(600);
    expect(await page.getAttribute('[data-testid=download-bms]', 'href')).toMatch(
      /^\/bms\/ZHPESS232A230002\/export\.csv\?from=/,
    );
    // the injected faults show as anomaly markers on the charts they concern
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid=history-chart]')].some(
        (e) => Number(e.getAttribute('data-markers')) > 0,
      ),
    );
    await shot('3-history-month');
  });

  it('shows 260 cells in the heatmap, and moving the slider changes them', async () => {
    await page.click('[data-testid=tab-cells]');
    await page.waitForSelector('[data-testid=heat-cell]');
    const values = () => page.$$eval('[data-testid=heat-cell]', (els) => els.map((e) => e.getAttribute('data-value')));
    const first = await values();
    expect(first).toHaveLength(260);
    expect(first.every((v) => v !== '' && Number.isFinite(Number(v)))).toBe(true);
    // Coloured by deviation from the pack median: most cells sit near it and stay pale, whatever
    // one far-out cell does to the scale.
    const pale = () =>
      page.$$eval(
        '[data-testid=heat-cell]',
        (els) =>
          els.filter((e) => {
            const [r, g, b] = getComputedStyle(e).backgroundColor.match(/\d+/g)!.map(Number);
            return (r! + g! + b!) / 3 > 160;
          }).length,
      );
    expect(await pale()).toBeGreaterThan(130);
    expect(await page.textContent('[data-testid=heat-legend]')).toMatch(/^−\d+ mV.*\+\d+ mVfrom the pack median/);
    await page.check('[data-testid=heat-fixed]');
    expect(await page.textContent('[data-testid=heat-legend]')).toContain('−50 mV');
    await page.uncheck('[data-testid=heat-fixed]');
    // One Tab stop: the arrow keys move between cells, Enter opens one.
    expect(await page.locator('[data-testid=heat-cell][tabindex="0"]').count()).toBe(1);
    await page.focus('[data-testid=heat-cell][tabindex="0"]');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    expect(
      await page.evaluate(() => [
        document.activeElement?.getAttribute('data-pack'),
        document.activeElement?.getAttribute('data-cell'),
      ]),
    ).toEqual(['2', '2']);
    expect(await page.locator('[data-testid=heat-cell][tabindex="0"]').count()).toBe(1);
    const slider = page.locator('[data-testid=cells-slider]');
    await slider.focus();
    for (let i = 0; i < 30; i++) await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((old) => {
      const now = [...document.querySelectorAll('[data-testid=heat-cell]')].map((e) => e.getAttribute('data-value'));
      return now.some((v, i) => v !== old[i]);
    }, first);
    expect(await values()).not.toEqual(first);
    await page.click('[data-testid=heat-cell] >> nth=20');
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid=cell-history] [data-testid=chart]')?.getAttribute('data-points')) >
        10,
    );
    expect(await page.textContent('[data-testid=cell-history]')).toContain("against its pack's median");
    await page.waitForSelector('[data-testid=rank-table]');
    await shot('4-cells');

    // The snapshot's instant, quantity and opened cell are in the URL: a fresh page shows the same.
    await page.click('text=Temperature');
    const link = page.url();
    expect(link).toMatch(/\?.*cell=\d-\d+/);
    expect(link).toContain('quantity=temperature');
    expect(link).toMatch(/at=\d+/);
    const title = await page.textContent('[data-testid=cell-history] figcaption');
    const time = await page.textContent('[data-testid=cells-time]');
    const fresh = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await fresh.goto(link);
    await fresh.waitForSelector('[data-testid=cell-history]');
    expect(await fresh.textContent('[data-testid=cell-history] figcaption')).toBe(title);
    expect(title).toContain('temperature');
    expect(await fresh.textContent('[data-testid=cells-time]')).toBe(time);
    expect(await fresh.isChecked('text=Temperature')).toBe(true);
    await fresh.close();
  });

  it('lists alerts with severity filters, forecasts with intervals and a remaining-life card', async () => {
    await page.click('[data-testid=tab-alerts]');
    const table = await page.waitForSelector('[data-testid=alerts-table]');
    const all = await table.$$eval('tbody tr', (rows) => rows.length);
    expect(await table.textContent()).toContain('cell overtemp');
    await page.click('[data-testid=severity-critical]');
    const critical = await page.$$eval('[data-testid=alerts-table] tbody tr', (rows) =>
      rows.map((r) => r.textContent ?? ''),
    );
    expect(critical.length).toBeGreaterThan(0);
    expect(critical.length).toBeLessThanOrEqual(all);
    expect(critical.every((r) => r.startsWith('critical'))).toBe(true);
    // The filter is in the URL: a fresh page lists the same rows.
    expect(page.url()).toContain('severity=critical');
    const fresh = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await fresh.goto(page.url());
    await fresh.waitForSelector('[data-testid=alerts-table] tbody tr');
    expect(
      await fresh.$$eval('[data-testid=alerts-table] tbody tr', (rows) => rows.map((r) => r.textContent ?? '')),
    ).toEqual(critical);
    await fresh.close();
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid=forecast-chart]')?.getAttribute('data-points')) > 96,
    );
    expect(await page.textContent('[data-testid=rul-card]')).toMatch(/Not enough to tell yet/);
    await shot('5-alerts');
  });

  it('accounts for data quality per signal', async () => {
    await page.click('[data-testid=tab-quality]');
    const table = await page.waitForSelector('[data-testid=quality-table]');
    const text = (await table.textContent()) ?? '';
    expect(text).toContain('bms1_soc');
    expect(text).toMatch(/duplicate \d+/);
    await shot('6-quality');
  });

  it('says clearly when a cabinet does not exist, in dark mode too', async () => {
    await page.goto(`${server.url}/#/device/NO_SUCH_CABINET/live`);
    await page.click('button[aria-label="Toggle theme"]');
    const alert = await page.waitForSelector('[role=alert]');
    expect(await alert.textContent()).toMatch(/not found/i);
    await shot('7-unknown-device-dark');
  });

  it('fits a tablet screen', async () => {
    await page.setViewportSize({ width: 820, height: 1100 });
    await page.goto(`${server.url}/#/device/ZHPESS232A230002/live`);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid=chart]')?.getAttribute('data-points')) > 2,
    );
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('8-tablet');
  });

  it('compares one signal across every cabinet on one axis, from a link a colleague can open', async () => {
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${server.url}/#/compare`);
    await page.waitForSelector('[data-testid=compare-chart][data-lines="3"]');
    await page.selectOption('[data-testid=compare-signal]', 'bms1_cell_max_t');
    await page.click('[data-testid=compare-week]');
    await expect.poll(() => page.evaluate(() => location.hash)).toMatch(/^#\/compare\/bms1_cell_max_t\/\d+-\d+$/);
    await page.waitForSelector('[data-testid=compare-chart][data-lines="3"]');
    expect(await page.locator('[data-testid=compare-chart] .recharts-line-curve').count()).toBe(3);
    expect(await page.textContent('[data-testid=compare-chart] figcaption')).toContain('°C');
    const link = page.url();
    const range = await page.textContent('[data-testid=compare-range]');
    await shot('11-compare');
    const other = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await other.goto(link);
    await other.waitForSelector('[data-testid=compare-chart][data-lines="3"]');
    expect(await other.textContent('[data-testid=compare-range]')).toBe(range);
    expect(await other.inputValue('[data-testid=compare-signal]')).toBe('bms1_cell_max_t');
    await other.close();
  });

  it('fits a phone: no view scrolls sideways, the heatmap keeps readable cells', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const views = [
      ['9-phone-fleet', '#/', '[data-testid=fleet]'],
      ['9-phone-live', '#/device/ZHPESS232A230002/live', '[data-testid=chart][data-points]'],
      ['9-phone-history', '#/device/ZHPESS232A230002/history', '[data-testid=history-chart]'],
      ['9-phone-cells', '#/device/ZHPESS232A230002/cells', '[data-testid=heatmap]'],
      ['9-phone-alarms', '#/alarms', 'main'],
    ] as const;
    for (const [name, hash, ready] of views) {
      await page.goto(`${server.url}/${hash}`);
      await page.waitForSelector(ready);
      await page.waitForTimeout(300);
      await shot(name);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
      );
      expect(overflow, `${hash} scrolls sideways by ${overflow}px: ${wide.join(', ')}`).toBeLessThanOrEqual(0);
      if (name === '9-phone-cells') {
        // 52 cells a row in 390 px would be 6 px each: the heatmap scrolls inside its own box instead.
        const cell = await page.locator('[data-testid=heatmap] [data-cell]').first().boundingBox();
        expect(cell!.width).toBeGreaterThanOrEqual(10);
      }
    }
  });
});

describe('with API keys on', () => {
  it('opens on the alarm console while an alarm is active; an acknowledgement in one window shows in another', async () => {
    const other = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await other.goto(`${server.url}/#/alarms`);
    await other.waitForSelector('[data-testid=alarm-console]');
    // An alarm as the always-on detector raises it: a hot cell on the first cabinet, live.
    const start = Date.parse('2024-03-03T12:00:00Z');
    const { change } = await alarmDb.transaction((tx) =>
      alarms.applyDetection(
        tx,
        {
          status: 'opened',
          event: {
            id: 'e2e',
            deviceId: 'ZHPESS232A230002',
            kind: 'cell_overtemp',
            severity: 'critical',
            signals: ['bms1_cell_max_t'],
            start,
            end: start + 60_000,
            observed: 58.2,
            threshold: 55,
            message: 'Cell temperature (max) reached 58.2 °C (limit 55 °C)',
          },
        },
        { historical: false, now: Date.now() },
      ),
    );
    alarms.publish([change!]);
    // The other window was already open: the alarm arrives there by the change feed.
    await other.waitForSelector('[data-testid=alarm]');
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=alarm-console] [data-testid=alarm]');
    expect(await page.textContent('[data-testid=count-critical]')).toContain('1 critical');
    expect(await page.textContent('[data-testid=nav-alarms]')).toContain('Alarms (1)');
    await shot('9-alarm-console');
    await page.click('[data-testid=acknowledge]');
    await page.fill('[data-testid=alarm-text]', 'crew on the way');
    await page.click('[data-testid=alarm-submit]');
    await other.waitForFunction(() =>
      document.querySelector('[data-testid=ack-state]')?.textContent?.includes('Acknowledged by anonymous'),
    );
    expect(await other.textContent('[data-testid=ack-state]')).toContain('crew on the way');
    await other.screenshot({ path: join(artifacts, '10-alarm-acknowledged-elsewhere.png'), fullPage: true });
    // Shelving in one window shows in the other, with who did it.
    await page.click('[data-testid=shelve]');
    await other.waitForSelector('[data-testid=shelved-state]');
    expect(await other.textContent('[data-testid=shelved-state]')).toContain('by anonymous');
    // Each alarm links to its cabinet's history around its time.
    await other.click('[data-testid=alarm-history-link]');
    await other.waitForFunction(() =>
      document.body.textContent?.includes('2024-03-03 11:00 UTC – 2024-03-03 13:00 UTC'),
    );
    // The fleet card counts the cabinet's active alarm.
    await page.goto(`${server.url}/#/fleet`);
    await page.waitForSelector('[data-testid=card-alarms]');
    expect(await page.textContent('[data-testid=device-card] >> nth=0')).toContain('1 active alarm');
    await other.close();
  });

  it('asks for a key, refuses a wrong one, and then serves the dashboard and its live stream through the session cookie', async () => {
    const keyed = await createBessServer({
      dataset,
      port: 0,
      host: '127.0.0.1',
      webDist,
      limits: null,
      apiKeys: new ApiKeys(['operator-key-e2e-123']),
    });
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const tab = await context.newPage();
    try {
      await tab.goto(keyed.url);
      await tab.waitForSelector('#api-key');
      await tab.fill('#api-key', 'wrong-key');
      await tab.click('[data-testid=sign-in]');
      expect(await (await tab.waitForSelector('[role=alert]')).textContent()).toMatch(/not valid/);
      await tab.screenshot({ path: join(artifacts, '9-sign-in-refused.png') });
      await tab.fill('#api-key', 'operator-key-e2e-123');
      await tab.click('[data-testid=sign-in]');
      await tab.waitForSelector('[data-testid=device-card]');
      const cookie = (await context.cookies()).find((c) => c.name === 'bess_session');
      expect(cookie?.httpOnly).toBe(true);
      expect(cookie?.sameSite).toBe('Strict');
      expect(await tab.evaluate(() => document.cookie)).not.toContain('bess_session');
      await tab.goto(`${keyed.url}/#/device/ZHPESS232A230002/live`);
      await tab.waitForFunction(
        () => Number(document.querySelector('[data-testid=chart]')?.getAttribute('data-points')) > 2,
      );
      expect(await tab.textContent('[data-testid=connection]')).toBe('Connected');
      await tab.screenshot({ path: join(artifacts, '10-signed-in-live.png') });
    } finally {
      await context.close();
      await keyed.close();
    }
  });
});
