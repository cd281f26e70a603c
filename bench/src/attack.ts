import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { maxOf, percentile, report, round } from './measure.js';
import { freePort, rssMbOf, waitForHealth } from './server-process.js';

/**
 * Step: the server under attack by one valid key that stays within its rate limits, as a
 * hostile client would. Phases of `seconds` each, while an open-loop probe sends /health every
 * 20 ms on its own schedule (a stall shows in every probe it delays, not in one):
 *   ws-bomb      1,000 bms.batch calls (1,000 records each) over one WebSocket every 3.5 s
 *   http-batch   12 parallel GETs of a 16-call bms.batch batch every 4.5 s
 *   slow-readers a 16-call batch (about 4 MB) every 700 ms on a new connection that never reads
 *   scans        16-call batches of analytics.anomalies over fresh ranges, 20 at a time
 * Reports /health p50/p99/max per phase, answers of 5xx, and the server's peak RSS.
 * Args: dataDir seconds
 */
const [dataArg, secondsArg] = process.argv.slice(2) as [string, string];
const seconds = Number(secondsArg);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KEY = 'bench-attack-key-0123456789';
const DEVICES = ['ZHPESS232A230002', 'ZHPESS232A230003', 'ZHPESS232A230007'];

// A copy, so the server's index and anything the attack does stay out of the data folder.
const dataDir = mkdtempSync(join(tmpdir(), 'bess-attack-'));
cpSync(dataArg, dataDir, { recursive: true, filter: (src) => !src.includes('.bess-index') });
const port = await freePort();
const server = spawn(process.execPath, [resolve(repo, 'packages/api/dist/main.js')], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    BESS_LOG: 'error',
    BESS_API_KEYS: KEY,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
await waitForHealth(`${base}/health`);
const rssMb = () => rssMbOf(server.pid!);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
let fivexx = 0;

function batchUrl(path: string, inputs: unknown[]): string {
  const input = Object.fromEntries(inputs.map((v, i) => [i, v]));
  return `/trpc/${inputs.map(() => path).join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`;
}
const pages = (from: number) =>
  Array.from({ length: 16 }, (_, i) => ({
    deviceId: DEVICES[i % 3],
    batchSize: 1000,
    step: 1,
    skip: (from + i) * 1000,
  }));

/** GETs `path` with the key and reads the whole answer; counts 5xx. */
function get(path: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { 'X-API-Key': KEY } }, (res) => {
      if ((res.statusCode ?? 0) >= 500) fivexx++;
      res.resume();
      res.on('end', () => resolveStatus(res.statusCode ?? 0));
      res.on('error', () => resolveStatus(0));
    });
    req.on('error', () => resolveStatus(0));
  });
}

/** Runs `attack` for the phase while probing /health every 20 ms; returns the probe's latencies and the peak RSS. */
async function phase(name: string, attack: (until: number) => Promise<void>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 500 });
  const latencies: number[] = [];
  let errors = 0;
  let peakRss = rssMb();
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const probes: Promise<void>[] = [];
  const probing = (async () => {
    for (let n = 0; performance.now() < until; n++) {
      const due = t0 + n * 20;
      await sleep(Math.max(0, due - performance.now()));
      probes.push(
        new Promise<void>((done) => {
          const req = http.get({ host: '127.0.0.1', port, path: '/health', agent }, (res) => {
            res.resume();
            res.on('end', () => (latencies.push(performance.now() - due), done()));
          });
          req.on('error', () => (errors++, done()));
        }),
      );
      if (n % 25 === 0) peakRss = Math.max(peakRss, rssMb());
    }
  })();
  await attack(until);
  await probing;
  await Promise.all(probes);
  agent.destroy();
  console.error(`${name}: /health p99 ${round(percentile(latencies, 99), 1)} ms`);
  return {
    health: {
      p50: round(percentile(latencies, 50), 1),
      p99: round(percentile(latencies, 99), 1),
      max: round(maxOf(latencies), 1),
      probes: latencies.length,
      errors,
    },
    peakRssMb: round(peakRss, 1),
  };
}

const results: Record<string, unknown> = {};
results.idle = await phase('idle', (until) => sleep(until - performance.now()));

results.wsBomb = await phase('ws-bomb', async (until) => {
  const sockets: WebSocket[] = [];
  for (let round_ = 0; performance.now() < until; round_++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/trpc?api_key=${KEY}`);
    sockets.push(ws);
    ws.on('error', () => {});
    // 1,000 calls as 63 messages of at most 16 (the most one message may hold).
    ws.on('open', () => {
      for (let m = 0; m * 16 < 1000; m++) {
        ws.send(
          JSON.stringify(
            Array.from({ length: Math.min(16, 1000 - m * 16) }, (_, k) => ({
              id: m * 16 + k + 1,
              method: 'query',
              params: { path: 'bms.batch', input: pages(m * 16 + k)[0] },
            })),
          ),
        );
      }
    });
    await sleep(3500);
  }
  for (const ws of sockets) ws.terminate();
});

results.httpBatch = await phase('http-batch', async (until) => {
  for (let k = 0; performance.now() < until; k++) {
    for (let i = 0; i < 12; i++) void get(batchUrl('bms.batch', pages(i * 16)));
    await sleep(4500);
  }
});

let opened = 0;
results.slowReaders = await phase('slow-readers', async (until) => {
  const held: ReturnType<typeof connect>[] = [];
  while (performance.now() < until) {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${batchUrl('bms.batch', pages(opened * 16))} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n\r\n`);
      socket.pause();
    });
    socket.on('error', () => {});
    held.push(socket);
    opened++;
    await sleep(700);
  }
  for (const s of held) s.destroy();
});

results.scans = await phase('scans', async (until) => {
  let from = Date.UTC(2024, 2, 1);
  const workers = Array.from({ length: 20 }, async () => {
    while (performance.now() < until) {
      const calls = Array.from({ length: 16 }, (_, i) => ({ deviceId: DEVICES[i % 3], from: (from += 60_000) }));
      await get(batchUrl('analytics.anomalies', calls));
    }
  });
  await Promise.all(workers);
});

const metrics = await (await fetch(`${base}/metrics`, { headers: { 'X-API-Key': KEY } })).text();
const cutOff = Number(/bess_stream_events_dropped_total\{reason="client_cut_off"\} (\d+)/.exec(metrics)?.[1] ?? 0);
const serverFivexx = Number(/bess_http_requests_total\{status="5xx"\} (\d+)/.exec(metrics)?.[1] ?? 0);
const alive = server.exitCode === null;
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
report({
  seconds,
  ...results,
  slowReadersOpened: opened,
  clientsCutOff: cutOff,
  fivexxSeen: fivexx,
  fivexxCounted: serverFivexx,
  serverAlive: alive,
});
