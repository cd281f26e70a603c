import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type BessServer } from '@bess/api';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, TestBed, webDist } from './support';

/** Every view, light and dark, through axe-core's WCAG 2 AA colour-contrast rule. */
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const DEVICE = 'ZHPESS232A230002';
const VIEWS: [name: string, hash: string, ready: string][] = [
  ['fleet', '#/fleet', '[data-testid=device-card]'],
  ['alarms', '#/alarms', '[data-testid=alarm-console]'],
  ['compare', '#/compare', '[data-testid=compare-chart][data-lines="3"]'],
  [
    'live',
    `#/device/${DEVICE}/live`,
    '[data-testid=bms-charts] [data-testid=chart][data-points]:not([data-points="0"])',
  ],
  ['history', `#/device/${DEVICE}/history`, '[data-testid=history-chart]'],
  ['cells', `#/device/${DEVICE}/cells`, '[data-testid=heat-cell]'],
  ['alerts', `#/device/${DEVICE}/alerts`, '[data-testid=forecast-chart]'],
  ['quality', `#/device/${DEVICE}/quality`, '[data-testid=quality-table]'],
];

const bed = new TestBed();
let server: BessServer;
let browser: Browser;

beforeAll(async () => {
  const { store } = await bed.alarms();
  server = await bed.server({ dataset: await bed.dataset('contrast'), webDist, alarms: { store, notifier: null } });
  browser = await bed.browser();
});

afterAll(() => bed.close());

interface Violation {
  id: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

async function contrastViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: unknown[] }> } }
    ).axe;
    const result = await axe.run(document, { runOnly: { type: 'rule', values: ['color-contrast'] } });
    return result.violations as Violation[];
  });
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${n.target.join(' ')}: ${(n.failureSummary ?? '').split('\n').slice(1).join(' ').trim()}`),
  );
}

describe('contrast', () => {
  for (const scheme of ['light', 'dark'] as const) {
    it(`passes WCAG AA colour contrast on every view, ${scheme}`, async () => {
      // bypassCSP: the server's policy (rightly) refuses the inline script axe-core is injected as.
      const context = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        colorScheme: scheme,
        bypassCSP: true,
      });
      const page = await context.newPage();
      const failures: string[] = [];
      for (const [name, hash, ready] of VIEWS) {
        await page.goto(`${server.url}/${hash}`);
        await page.waitForSelector(ready, { timeout: 15_000 });
        // Charts and lists settle after their data; check what the operator then sees.
        await page.waitForTimeout(300);
        for (const failure of await contrastViolations(page)) failures.push(`${name}: ${failure}`);
        await page.screenshot({ path: join(artifacts, `contrast-${scheme}-${name}.png`) });
      }
      await context.close();
      expect(failures).toEqual([]);
    });
  }
});
