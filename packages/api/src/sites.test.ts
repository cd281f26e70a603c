import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createBessClient, type BessClient } from './client.js';
import { loadSites } from './sites.js';
import { startSampleServer } from './test-support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'bess-sites-'));
const file = (name: string, body: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
};
let stop: () => Promise<void>;
let bess: BessClient;
let client: BessClient['api'];

beforeAll(async () => {
  const sites = loadSites(
    file('sites.json', { ZHPESS232A230003: { timeZone: 'America/New_York' }, '*': { timeZone: 'Europe/Berlin' } }),
  );
  const started = await startSampleServer({ sites });
  stop = started.stop;
  bess = createBessClient({ url: started.server.url, WebSocket });
  client = bess.api;
});
afterAll(async () => {
  bess.close();
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('site time zones (BESS_SITES)', () => {
  it("gives each cabinet its own site's zone, else the default's", async () => {
    expect((await client.devices.info.query({ deviceId: 'ZHPESS232A230003' })).timeZone).toBe('America/New_York');
    expect((await client.devices.info.query({ deviceId: 'ZHPESS232A230002' })).timeZone).toBe('Europe/Berlin');
    const listed = await client.devices.list.query();
    expect(listed.map((d) => d.timeZone)).toEqual(['Europe/Berlin', 'America/New_York', 'Europe/Berlin']);
  });

  it('refuses a file that names no real zone, or is not JSON, naming what is wrong', () => {
    expect(() => loadSites(file('bad-zone.json', { X: { timeZone: 'Mars/Olympus_Mons' } }))).toThrow(
      /BESS_SITES .*bad-zone\.json: X\.timeZone: not a time zone/,
    );
    expect(() => loadSites(file('extra.json', { X: { timeZone: 'UTC', colour: 'red' } }))).toThrow(/X: /);
    expect(() => loadSites(file('broken.json', '{ "X": '))).toThrow(/BESS_SITES .*broken\.json: /);
    expect(loadSites(undefined).size).toBe(0);
  });
});
