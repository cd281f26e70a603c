import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import type { AppRouter } from '@bess/api';
import WebSocket from 'ws';
import { maxOf, percentile, report, round } from './measure.js';
import { freePort, rssMbOf, waitForHealth } from './server-process.js';

/**
 * Step: a bounded soak on loopback. `subscribers` WebSocket streams at 1 event/s
 * stay open while a paging loop reads random REST and tRPC pages as fast as it
 * can, for `seconds`. Reports throughput, errors, latency percentiles and how the
 * server's RSS moved between the first and the last minute.
 * Args: dataDir subscribers seconds
 */
const [dataDir, subscribersArg, secondsArg] = process.argv.slice(2) as [string, string, string];
const subscribers = Number(subscribersArg);
const seconds = Number(secondsArg);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const port = await freePort();
const server = spawn(process.execPath, [resolve(repo, 'packages/api/dist/main.js')], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    BESS_LOG: 'warn',
    BESS_RATE_LIMIT: '0',
    BESS_MAX_SUBSCRIPTIONS: '0',
    BESS_MAX_CONNECTIONS_PER_CLIENT: '0',
    BESS_MAX_REQUESTS_IN_FLIGHT: '0',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
await waitForHealth(`${base}/health`);
const rss = () => rssMbOf(server.pid!);

const url = `ws://127.0.0.1:${port}/trpc`;
const api = createTRPCClient<AppRouter>({
  links: [wsLink({ client: createWSClient({ url, WebSocket: WebSocket as never }) })],
});
const devices = await api.bms.devices.query();
let events = 0;
let errors = 0;
const closers: (() => void)[] = [];
for (let i = 0; i < subscribers; i++) {
  const wsClient = createWSClient({ url, WebSocket: WebSocket as never });
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient })] });
  const sub = client.pcs.stream.subscribe(
    { deviceId: devices[i % devices.length]!.id, interval: 1 },
    { onData: () => events++, onError: () => errors++ },
  );
  closers.push(() => {
    sub.unsubscribe();
    void wsClient.close();
  });
}

const latencies: number[] = [];
let requests = 0;
const started = performance.now();
const rssSamples: { t: number; mb: number }[] = [];
const sampler = setInterval(() => rssSamples.push({ t: (performance.now() - started) / 1000, mb: rss() }), 5000);
while (performance.now() - started < seconds * 1000) {
  const device = devices[requests % devices.length]!;
  const t = performance.now();
  try {
    if (requests % 2) {
      const res = await fetch(`${base}/bms/${device.id}?batch_size=100&skip=${Math.floor(Math.random() * 50_000)}`);
      if (!res.ok) errors++;
      await res.arrayBuffer();
    } else {
      await api.pcs.batch.query({ deviceId: device.id, batchSize: 100, skip: Math.floor(Math.random() * 100_000) });
    }
  } catch {
    errors++;
  }
  latencies.push(performance.now() - t);
  requests++;
}
clearInterval(sampler);
const elapsed = (performance.now() - started) / 1000;
const firstMinute = rssSamples.filter((s) => s.t <= 60).map((s) => s.mb);
const lastMinute = rssSamples.filter((s) => s.t >= elapsed - 60).map((s) => s.mb);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
for (const close of closers) close();
server.kill('SIGTERM');
report({
  seconds: round(elapsed, 1),
  subscribers,
  streamEvents: events,
  requests,
  requestsPerSecond: round(requests / elapsed, 1),
  errors,
  latencyMs: {
    p50: round(percentile(latencies, 50), 2),
    p99: round(percentile(latencies, 99), 2),
    max: round(maxOf(latencies), 2),
  },
  serverRssMb: {
    firstMinute: round(mean(firstMinute), 1),
    lastMinute: round(mean(lastMinute), 1),
    drift: round(mean(lastMinute) - mean(firstMinute), 1),
  },
});
process.exit(0);
