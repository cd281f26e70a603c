import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset, type BessDataset } from '@bess/core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase } from './db.js';
import { AlarmMonitor } from './monitor.js';
import { signBody } from './notify/channels.js';
import type { NotifyConfig } from './notify/config.js';
import { Notifier } from './notify/notifier.js';
import { AlarmStore } from './store.js';
import { freePort, openFresh, startPostgres, type Engine } from './test-support/postgres.js';

const DEVICE = 'CAB1';
const T0 = Date.UTC(2024, 5, 1);
const MINUTE = 60_000;
const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const rows = (from: number, minutes: number, value: (i: number) => number) =>
  Array.from({ length: minutes }, (_, i) => `${stamp(from + i * MINUTE)},${value(i)}\n`).join('');

let pgServer: Awaited<ReturnType<typeof startPostgres>> | null = null;
const posts: { body: string; signature: string | undefined; delivery: string | undefined }[] = [];
let hook: Server;
let hookUrl = '';
const mails: string[] = [];
let smtp: SMTPServer;
let smtpPort = 0;

beforeAll(async () => {
  pgServer = await startPostgres();
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({
        body,
        signature: req.headers['x-bess-signature'] as string | undefined,
        delivery: req.headers['x-bess-delivery'] as string | undefined,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, done) {
      let text = '';
      stream.on('data', (c: Buffer) => (text += c.toString()));
      stream.on('end', () => {
        mails.push(text);
        done();
      });
    },
  });
  smtpPort = await freePort();
  await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', r));
}, 60_000);
afterAll(async () => {
  pgServer?.stop();
  await new Promise((r) => hook.close(r));
  await new Promise<void>((r) => smtp.close(() => r()));
});

async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each<Engine>(['pglite', 'postgres'])('the always-on detector on %s', (engine) => {
  const root = mkdtempSync(join(tmpdir(), 'bess-alarms-'));
  const dbDir = join(root, 'db');
  let dataset: BessDataset;
  let stopWatch: () => void;
  let openDb: () => Promise<SqlDatabase>;
  const config = (): NotifyConfig => ({
    channels: {
      ops: { type: 'webhook', url: hookUrl, secret: 's3' },
      mail: { type: 'email', smtp: `smtp://127.0.0.1:${smtpPort}`, to: ['ops@example.com'] },
    },
    rules: [{ severity: 'critical', channels: ['ops', 'mail'] }],
  });
  /** Everything the server runs for alarms, as it starts them. */
  async function start() {
    const db = await openDb();
    const store = await AlarmStore.open(db);
    const notifier = new Notifier(db, config(), { pollMs: 50, retryBaseMs: 50 });
    const monitor = new AlarmMonitor(dataset, store, notifier);
    notifier.start();
    monitor.start();
    await eventually(() => monitor.caughtUp.has(DEVICE));
    return {
      store,
      async stop() {
        await monitor.close();
        await notifier.close();
        await db.close();
      },
    };
  }

  beforeAll(async () => {
    posts.length = 0;
    mails.length = 0;
    mkdirSync(join(root, 'data', DEVICE), { recursive: true });
    // Two quiet hours, then an hour-old fault that cleared (history), all inside the limits now.
    writeFileSync(join(root, 'data', DEVICE, 'bms1_soc.csv'), `ts,bms1_soc\n${rows(T0, 180, () => 50)}`);
    writeFileSync(
      join(root, 'data', DEVICE, 'bms1_cell_max_t.csv'),
      `ts,bms1_cell_max_t\n${rows(T0, 180, (i) => (i >= 60 && i < 70 ? 60 : 30))}`,
    );
    dataset = await openDataset(join(root, 'data'), { indexDir: join(root, 'index'), workers: 0 });
    stopWatch = dataset.watch(60_000);
    openDb = (await openFresh(engine, pgServer, dbDir)).open;
  });
  afterAll(async () => {
    stopWatch();
    await dataset.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('records history without notifying, raises a live alarm on appended rows, delivers it once, and survives a restart', async () => {
    let running = await start();
    const history = await running.store.list({ deviceId: DEVICE });
    // The step from 30 to 60 °C is also a fast rise: each condition is its own alarm, all historical and cleared.
    expect(history.items.map((a) => a.kind).sort()).toEqual(['cell_overtemp', 'fast_temp_rise']);
    expect(history.items.every((a) => a.historical && a.status === 'cleared')).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(posts).toHaveLength(0);

    // A live fault: the hottest cell crosses the 55 °C alarm limit in rows appended now.
    const appended = performance.now();
    appendFileSync(
      join(root, 'data', DEVICE, 'bms1_soc.csv'),
      rows(T0 + 180 * MINUTE, 5, () => 50),
    );
    appendFileSync(
      join(root, 'data', DEVICE, 'bms1_cell_max_t.csv'),
      rows(T0 + 180 * MINUTE, 5, () => 61),
    );
    const live = await eventually(async () => {
      const { items } = await running.store.list({ deviceId: DEVICE, kind: 'cell_overtemp', status: 'active' });
      return items[0];
    });
    const raisedMs = performance.now() - appended;
    expect(live).toMatchObject({
      kind: 'cell_overtemp',
      severity: 'critical',
      historical: false,
      signals: ['bms1_cell_max_t'],
    });
    expect(raisedMs).toBeLessThan(5_000);

    // One webhook and one mail per live critical alarm (the overtemperature and the fast rise), each signed.
    const liveAlarms = (await running.store.list({ deviceId: DEVICE, historical: false })).items;
    await eventually(() => posts.length >= liveAlarms.length && mails.length >= liveAlarms.length);
    for (const post of posts) expect(post.signature).toBe(`sha256=${signBody(post.body, 's3')}`);
    const posted = posts.map((p) => (JSON.parse(p.body) as { trigger: string; alarm: { id: string } }).alarm.id);
    expect(posted.sort()).toEqual(liveAlarms.map((a) => a.id).sort());
    expect(new Set(posts.map((p) => p.delivery)).size).toBe(posts.length);
    expect(mails.some((m) => m.includes('cell_overtemp') && m.includes('ops@example.com'))).toBe(true);
    const delivered = posts.length;

    await running.store.acknowledge(live.id, 'alice', 'on my way');
    await running.stop();
    running = await start();
    await new Promise((r) => setTimeout(r, 500));
    const after = await running.store.get(live.id);
    expect(after.alarm).toMatchObject({ status: 'active', acknowledged: true, acknowledgedBy: 'alice' });
    expect((await running.store.list({ deviceId: DEVICE })).items).toHaveLength(2 + liveAlarms.length);
    expect(posts).toHaveLength(delivered);
    expect(mails).toHaveLength(delivered);
    await running.stop();
  });
});
