import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createBessClient, type BessClient } from './client.js';
import { eventually, startSampleServer } from './test-support/server.js';
import type { BessServer } from './server.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let server: BessServer;
let stop: () => Promise<void>;
let bess: BessClient;

beforeAll(async () => {
  ({ server, stop } = await startSampleServer());
  bess = createBessClient({ url: server.url, WebSocket });
});
afterAll(async () => {
  bess.close();
  await stop();
});

/** Hostile values for any parameter: huge, negative, NaN-like, long, unicode, path tricks, NUL. */
const hostile = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom(
    '../../etc/passwd',
    '%2e%2e%2f',
    '..%2F..%2F',
    '/etc/passwd',
    'C:\\Windows',
    'a\u0000b',
    'NaN',
    'Infinity',
    '-1',
    '1e309',
    '',
    ' ',
    '0x10',
    '😀',
    'ZHPESS232A230002/../x',
  ),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ minLength: 2000, maxLength: 5000 }),
);

describe('hostile input never yields a 5xx', () => {
  it('on every REST parameter', async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('bms', 'pcs'),
        hostile,
        hostile,
        hostile,
        fc.constantFrom('', '/stream', '/export.csv'),
        async (kind, id, param, value, suffix) => {
          cases++;
          const query =
            suffix === '/stream'
              ? `interval=${encodeURIComponent(param)}`
              : `batch_size=${encodeURIComponent(param)}&skip=${encodeURIComponent(value)}&from=${encodeURIComponent(value)}`;
          const controller = new AbortController();
          const res = await fetch(`${server.url}/${kind}/${encodeURIComponent(id)}${suffix}?${query}`, {
            signal: controller.signal,
          });
          // 404 unknown device, 422 bad parameter, 431 a URL longer than the server accepts; never 5xx
          expect(res.status).toBeLessThan(500);
          controller.abort();
        },
      ),
      { numRuns: 300 },
    );
    expect(cases).toBeGreaterThanOrEqual(300);
  });

  it('on every tRPC procedure input', async () => {
    const anyValue = fc.oneof(
      hostile,
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.object(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'bms.batch',
          'pcs.batch',
          'devices.summary',
          'history.series',
          'cells.snapshot',
          'cells.stats',
          'analytics.forecast',
          'analytics.rul',
        ),
        fc.record(
          {
            deviceId: anyValue,
            batchSize: anyValue,
            skip: anyValue,
            from: anyValue,
            to: anyValue,
            signals: anyValue,
            at: anyValue,
            signal: anyValue,
            horizonHours: anyValue,
          },
          { requiredKeys: [] },
        ),
        async (path, input) => {
          const res = await fetch(`${server.url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`);
          expect(res.status, `${path} ${JSON.stringify(input).slice(0, 200)}`).toBeLessThan(500);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('clients that come and go', () => {
  it('leave no readers, subscriptions or sockets behind after a thousand connect/subscribe/disconnect cycles', async () => {
    forceGc();
    const before = process.memoryUsage().heapUsed;
    const baselineSockets = server.connections(); // the suite's own client
    for (let round = 0; round < 34; round++) {
      const clients = Array.from({ length: 30 }, () => createBessClient({ url: server.url, WebSocket }));
      const subs = clients.map((c, i) =>
        c.api[i % 2 ? 'bms' : 'pcs'].stream.subscribe(
          { deviceId: 'ZHPESS232A230003', interval: 0.1 },
          { onData: () => {} },
        ),
      );
      await eventually(() => server.hub.stats().subscribers === 30);
      subs.forEach((s, i) => (i % 3 ? s.unsubscribe() : undefined)); // a third just vanish
      clients.forEach((c) => c.close());
      await eventually(() => server.hub.stats().readers === 0 && server.connections() === baselineSockets).catch(
        (e: unknown) => {
          throw new Error(`${String(e)}: ${JSON.stringify(server.hub.stats())}, ${server.connections()} sockets`);
        },
      );
    }
    forceGc();
    const grownMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    expect(grownMb).toBeLessThan(20);
    expect(server.hub.stats()).toMatchObject({ readers: 0, subscribers: 0 });
  }, 120_000);

  it('a subscriber that stops reading loses its oldest events (counted), never grows a queue', async () => {
    const { StreamHub, SUBSCRIBER_QUEUE } = await import('./streaming/index.js');
    const hub = new StreamHub((await import('./test-support/server.js')).sharedDataset());
    const stalled = hub.subscribe({
      kind: 'pcs',
      deviceId: 'ZHPESS232A230002',
      intervalMs: 2,
      stepMs: 30_000,
      start: { position: 0 },
    });
    // More than 50 lost: with exactly 50, the oldest it still holds is the 51st event, at
    // first + 50 steps, and the check below (strictly later) raced the next drop.
    await eventually(() => hub.stats().dropped > 50, 10_000);
    // what it can still read is the newest SUBSCRIBER_QUEUE events, in order
    const first = await stalled.next();
    expect(Date.parse(first!.id)).toBeGreaterThan(Date.parse('2024-03-01T00:00:30Z') + 50 * 30_000);
    expect(stalled.dropped + SUBSCRIBER_QUEUE).toBeGreaterThanOrEqual(hub.stats().dropped);
    stalled.close();
    expect(hub.stats()).toMatchObject({ readers: 0, subscribers: 0 });
  });
});

describe('graceful shutdown', () => {
  it('ends WebSocket clients with close code 1001 and leaves no stream running', async () => {
    const other = await startSampleServer();
    const ws = new WebSocket(`${other.server.url.replace('http', 'ws')}/trpc`);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'bms.stream', input: { deviceId: 'ZHPESS232A230002', interval: 0.1 } },
      }),
    );
    await eventually(() => other.server.hub.stats().subscribers === 1);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await other.stop();
    expect(await closed).toBe(1001);
    expect(other.server.hub.stats()).toMatchObject({ readers: 0, subscribers: 0 });
  });
});

/**
 * A full collection, so heap growth measures what is retained rather than garbage
 * not yet collected (the test process runs without --expose-gc).
 */
function forceGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
