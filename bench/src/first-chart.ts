import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_LAUNCH } from '@bess/test-servers';
import { chromium, type BrowserContext } from 'playwright-core';
import { percentile, report, round } from './measure.js';
import { freePort, waitForHealth } from './server-process.js';

/**
 * Step: how soon the dashboard draws its first chart, in Debian's Chromium as the browser tests
 * launch it, against the product server on the bundled sample. For Live and History: the first
 * page in a fresh browser (cold: nothing cached or compiled), then `runs` pages in turn in the same
 * browser context (warm: its HTTP and code caches filled), each timed from navigation to (a) the first chart carrying readings and (b) its
 * first line drawn. Reports the cold times and the warm p50 and max.
 * Args: dataDir runs
 */
const [dataArg, runsArg] = process.argv.slice(2) as [string, string];
const runs = Number(runsArg);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEVICE = 'ZHPESS232A230002';
/** The first chart of each view, as the browser tests find it. */
const VIEWS = {
  live: '[data-testid=bms-charts] [data-testid=chart]',
  history: '[data-testid=history-chart]',
} as const;

const dataDir = mkdtempSync(join(tmpdir(), 'bess-first-chart-'));
cpSync(dataArg, dataDir, { recursive: true, filter: (src) => !src.includes('.bess-index') });
const port = await freePort();
const server = spawn(process.execPath, [resolve(repo, 'packages/api/dist/main.js')], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, BESS_LOG: 'error' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;

/** CPU seconds the process has used (user and system, from /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Waits until the server has settled (under 5 % of a core for 3 s in a row, 3 minutes at most): on
 * start it indexes the copy and its alarm monitor reads each cabinet's recent history.
 */
async function waitForIdle(pid: number): Promise<void> {
  let quiet = 0;
  let last = cpuSeconds(pid);
  for (let i = 0; i < 180 && quiet < 3; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuSeconds(pid);
    quiet = now - last < 0.05 ? quiet + 1 : 0;
    last = now;
  }
}

/** Milliseconds from navigation to the chart having readings, and to its first line in the DOM. */
async function timePage(context: BrowserContext, view: keyof typeof VIEWS): Promise<{ data: number; line: number }> {
  const page = await context.newPage();
  const chart = VIEWS[view];
  await page.goto(`${base}/#/device/${DEVICE}/${view}`);
  // Timed inside the page, on the animation frame the element is first there (the page's CSP refuses string code).
  const at = async (selector: string) => {
    const handle = await page.waitForFunction(
      (s) => {
        const { document } = globalThis as unknown as { document: { querySelector(s: string): unknown } };
        return document.querySelector(s) ? performance.now() : 0;
      },
      selector,
      { polling: 'raf', timeout: 30_000 },
    );
    return await handle.jsonValue();
  };
  const data = await at(`${chart}[data-points]:not([data-points="0"])`);
  const line = await at(`${chart} .recharts-line-curve`);
  await page.close();
  return { data: round(data, 0), line: round(line, 0) };
}

try {
  await waitForHealth(`${base}/health`);
  await waitForIdle(server.pid!);
  const result: Record<string, unknown> = {};
  for (const view of Object.keys(VIEWS) as (keyof typeof VIEWS)[]) {
    const browser = await chromium.launch(CHROMIUM_LAUNCH);
    try {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const cold = await timePage(context, view);
      const warm: { data: number; line: number }[] = [];
      for (let i = 0; i < runs; i++) warm.push(await timePage(context, view));
      const summary = (key: 'data' | 'line') => ({
        cold: cold[key],
        warmP50: percentile(
          warm.map((w) => w[key]),
          50,
        ),
        warmMax: Math.max(...warm.map((w) => w[key])),
      });
      result[view] = { firstChartWithDataMs: summary('data'), firstLineMs: summary('line'), runs };
    } finally {
      await browser.close();
    }
  }
  report(result);
} finally {
  // Stopped before its copy of the data is removed: it may still be writing its index there.
  const exited = server.exitCode === null ? new Promise((r) => server.once('exit', r)) : Promise.resolve();
  server.kill();
  await exited;
  rmSync(dataDir, { recursive: true, force: true });
}
