import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import type { AppRouter } from '@bess/api';
import WebSocket from 'ws';
import { percentile, report, round } from './measure.js';

/**
 * Step: N WebSocket subscribers of `bms.stream` against a real server process
 * (so the server's RSS is its own). Each event should arrive every `interval`
 * seconds. A subscriber's k-th event is due at base + k x interval, where base
 * is the earliest its events' arrivals allow (min over k of arrival_k - k x
 * interval); lateness is how far behind that schedule an event came.
 * Delivered is received / due over the measurement window.
 * Args: dataDir subscribers intervalSeconds durationSeconds
 */
const [dataDir, subscribersArg, intervalArg, durationArg] = process.argv.slice(2) as [string, string, string, string];
const subscribers = Number(subscribersArg);
const interval = Number(intervalArg);
const duration = Number(durationArg);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const port = await freePort();
const server = spawn(process.execPath, [resolve(repo, 'packages/api/dist/main.js')], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, BESS_LOG: 'warn', BESS_RATE_LIMIT: '0' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
await waitForHealth(`http://127.0.0.1:${port}/health`);

const url = `ws://127.0.0.1:${port}/trpc`;
const probe = createTRPCClient<AppRouter>({ links: [wsLink({ client: createWSClient({ url, WebSocket: WebSocket as never }) })] });
const deviceIds = (await probe.bms.devices.query()).map((d) => d.id);

const arrivals: number[][] = [];
let received = 0;
let errors = 0;
const closers: (() => void)[] = [];
const measureFrom = performance.now() + 3000; // skip connection set-up

for (let i = 0; i < subscribers; i++) {
  const wsClient = createWSClient({ url, WebSocket: WebSocket as never });
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient })] });
  const mine: number[] = [];
  arrivals.push(mine);
  const sub = client.bms.stream.subscribe(
    { deviceId: deviceIds[i % deviceIds.length]!, interval },
    {
      onData: () => {
        const now = performance.now();
        mine.push(now);
        if (now >= measureFrom && now <= measureFrom + duration * 1000) received++;
      },
      onError: () => errors++,
    },
  );
  closers.push(() => {
    sub.unsubscribe();
    wsClient.close();
  });
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50));
}

await new Promise((r) => setTimeout(r, Math.max(0, measureFrom - performance.now()) + duration * 1000 + 500));
const expected = subscribers * Math.floor(duration / interval);
const lateness: number[] = [];
for (const mine of arrivals) {
  const base = Math.min(...mine.map((a, k) => a - k * interval * 1000));
  mine.forEach((a, k) => {
    if (a >= measureFrom && a <= measureFrom + duration * 1000) lateness.push(a - k * interval * 1000 - base);
  });
}
const serverRssMb = rssOf(server.pid!);
for (const close of closers) close();
server.kill('SIGTERM');
report({
  subscribers,
  intervalSeconds: interval,
  durationSeconds: duration,
  expected,
  received,
  deliveredRatio: round(received / expected, 4),
  latenessMs: { p50: round(percentile(lateness, 50), 1), p99: round(percentile(lateness, 99), 1) },
  errors,
  serverRssMb,
  serverPeakRssMb: peakOf(server.pid!),
});
process.exit(0);

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 1) : NaN;
}
function peakOf(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : NaN;
  } catch {
    return NaN;
  }
}
async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}
async function waitForHealth(healthUrl: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(healthUrl)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}
