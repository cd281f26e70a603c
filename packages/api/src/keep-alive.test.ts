import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { BessServer } from './server.js';
import { eventually, startSampleServer } from './test-support/server.js';

let server: BessServer;
let stop: () => Promise<void>;
const INTERVAL_MS = 400;
const SLOTS = 8;

beforeAll(async () => {
  ({ server, stop } = await startSampleServer({ keepAlive: { intervalMs: INTERVAL_MS, slots: SLOTS } }));
});
afterAll(async () => {
  await stop();
});

async function connect(options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/trpc`, options);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

describe('WebSocket keep-alive', () => {
  it('cuts off a client that stops answering pings, and keeps one that answers', async () => {
    const silent = await connect({ autoPong: false });
    const alive = await connect();
    let alivePings = 0;
    alive.on('ping', () => alivePings++);
    const silentClosed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    const started = Date.now();
    const code = await silentClosed;
    // pinged in its slot, then cut off on its next turn: within two intervals (plus a turn)
    expect(Date.now() - started).toBeLessThan(2 * INTERVAL_MS + INTERVAL_MS / SLOTS + 500);
    expect(code).toBe(1006); // terminated, no close handshake
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    expect(alive.readyState).toBe(WebSocket.OPEN);
    expect(alivePings).toBeGreaterThanOrEqual(3);
    alive.close();
    await eventually(() => server.connections() === 0);
  });

  it('spreads the pings of clients that connected together over the interval', async () => {
    const clients = await Promise.all(Array.from({ length: 80 }, () => connect()));
    const firstPing: number[] = [];
    const started = performance.now();
    await Promise.all(
      clients.map(
        (ws, i) =>
          new Promise<void>((resolve) =>
            ws.once('ping', () => ((firstPing[i] = performance.now() - started), resolve())),
          ),
      ),
    );
    // 80 clients in 8 slots at random: were they pinged together, they would share one turn
    const turns = new Set(firstPing.map((ms) => Math.floor(ms / (INTERVAL_MS / SLOTS))));
    expect(turns.size).toBeGreaterThanOrEqual(SLOTS / 2);
    expect(Math.max(...firstPing) - Math.min(...firstPing)).toBeGreaterThan(INTERVAL_MS / 2);
    for (const ws of clients) ws.close();
    await eventually(() => server.connections() === 0);
  });
});
