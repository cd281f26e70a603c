import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type BessServer } from '@bess/api';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, TestBed } from './support';

/**
 * The prototype's two clients speak to this server as they spoke to the prototype: from a page
 * of another origin, an EventSource on `/bess/{id}/stream?interval=&date=` filling cards by its
 * prefixed field names (its bms_dashboard.html), and a `/bess/{id}?batch_size=` fetch whose last
 * records are posted to `/ai/analyze` (its React Forecast page). The page is written here from
 * what those clients do; none of their code is copied.
 */
const DEVICE = 'ZHPESS232A230002';
const CARDS = [
  'bms_soc',
  'bms_soh',
  'bms_voltage',
  'bms_current',
  'pcs_apparent_power',
  'pcs_dc_voltage',
  'pcs_dc_current',
  'pcs_ac_current_a',
  'pcs_ac_voltage_ab',
  'pcs_temp_igbt',
  'pcs_temp_environment',
  'aux_outside_temp',
  'aux_outwater_temp',
  'aux_return_water_pressure',
  'aux_power_apparent',
  'env_humidity',
  'env_temperature',
];

const page = (api: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prototype client</title>
<style>body{font:14px sans-serif} .card{display:inline-block;width:200px;margin:4px;padding:8px;border:1px solid #999}</style></head>
<body><h1>BESS monitor (prototype client)</h1><p id="time">--</p><p id="events">0</p>
${CARDS.map((f) => `<div class="card">${f}<br><b id="${f}">--</b></div>`).join('')}
<pre id="analysis"></pre>
<script>
const api = ${JSON.stringify(api)};
let events = 0;
const source = new EventSource(api + '/bess/${DEVICE}/stream?interval=0.2&date=2024-03-02');
source.onmessage = (event) => {
  const data = JSON.parse(event.data);
  document.getElementById('events').textContent = String(++events);
  document.getElementById('time').textContent = data.timestamp;
  for (const field of ${JSON.stringify(CARDS)}) {
    const value = data[field];
    document.getElementById(field).textContent = value === null || value === undefined ? '--' : Number(value).toFixed(2);
  }
};
fetch(api + '/bess/${DEVICE}?batch_size=50&skip=0')
  .then((res) => res.json())
  .then((bess) =>
    fetch(api + '/ai/analyze', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ json_data: { ...bess, data: bess.data.slice(-100) }, prompt_type: 'anomaly', model: 'gpt-4o-mini', max_tokens: 2000 }),
    }),
  )
  .then((res) => res.json())
  .then((result) => { document.getElementById('analysis').textContent = result.model_used + '\\n' + result.analysis; });
</script></body></html>`;

const bed = new TestBed();
let server: BessServer;
let origin: Server;
let browser: Browser;

beforeAll(async () => {
  // No keys: like the prototype, any origin may call (BESS_CORS_ORIGINS defaults to *).
  server = await bed.server({ dataset: await bed.dataset('prototype') });
  origin = createServer((_, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(page(server.url));
  });
  await new Promise<void>((done) => origin.listen(0, '127.0.0.1', done));
  bed.defer(() => new Promise((done) => origin.close(done)));
  browser = await bed.browser();
});

afterAll(() => bed.close());

describe('the prototype’s clients against this server', () => {
  it('fill every card from the stream, keep streaming, and show the analysis', async () => {
    const tab = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await tab.goto(`http://127.0.0.1:${(origin.address() as AddressInfo).port}/`);
    await expect.poll(() => tab.locator('#events').textContent(), { timeout: 10_000 }).not.toBe('0');
    const first = await tab.locator('#time').textContent();
    // A day in: SOH is logged hourly and the enclosure every 10 min, so the data's first minutes have none yet.
    expect(first).toMatch(/^2024-03-02T00:0\dZ?/);
    await expect.poll(() => tab.locator('#events').textContent().then(Number), { timeout: 10_000 }).toBeGreaterThan(8);
    expect(await tab.locator('#time').textContent()).not.toBe(first);
    const empty: string[] = [];
    for (const field of CARDS) if ((await tab.locator(`#${field}`).textContent()) === '--') empty.push(field);
    expect(empty).toEqual([]);
    await expect.poll(() => tab.locator('#analysis').textContent(), { timeout: 10_000 }).toContain('bess-analytics');
    expect(await tab.locator('#analysis').textContent()).toContain(`Anomaly analysis: ${DEVICE}`);
    await tab.screenshot({ path: join(artifacts, 'prototype-client-cards.png') });
    await tab.close();
  });
});
