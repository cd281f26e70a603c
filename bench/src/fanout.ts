import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { percentile, report, round } from './measure.js';
import { freePort, rssMbOf, waitForHealth } from './server-process.js';

/**
 * Step: N WebSocket subscribers of `bms.stream` against a real server process (so the server's
 * RSS and CPU are its own). Args: dataDir subscribers intervalSeconds durationSeconds.
 *
 * The load generator is this one process of raw `ws` clients speaking tRPC's wire protocol
 * (what `wsLink` sends), parsing as little as it can: per message it finds the event id with a
 * byte search and takes performance.now(); it never parses the record. On a 2-core machine it
 * still shares the cores with the server: its CPU use over the window is reported
 * (`loadGeneratorCpu`, fraction of one core), next to the server's.
 *
 * Each event is identified by its id (the record time): subscribers of the same device get the
 * same sequence, so event k of a device is the k-th id any of its subscribers saw. A
 * subscriber's event k is due at base + k x interval, base being the earliest its arrivals
 * allow (min over k of arrival_k - k x interval); lateness is how far behind that an event
 * came. Expected: every event due inside the window, for every subscriber; delivered: those
 * of them that arrived at all (a late one counts, and shows in the lateness). A lost event
 * does not shift the later ones. The window starts once every subscription has started.
 *
 * Also reported: `latenessVsStreamMs`, each arrival against the earliest subscriber of the same
 * stream (so it includes the spread of one broadcast over all its subscribers), and
 * `serverSendLatenessMs`, the server's own histogram of due time -> send to the socket over
 * the window (bucket upper bounds).
 */
const [dataDir, subscribersArg, intervalArg, durationArg] = process.argv.slice(2) as [string, string, string, string];
const subscribers = Number(subscribersArg);
const interval = Number(intervalArg);
const intervalMs = interval * 1000;
const duration = Number(durationArg);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SETTLE_MS = 2000; // after the last subscription started
const GRACE_MS = 2000; // after the window, for late events that were due inside it

const port = await freePort();
// FANOUT_SERVER_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=/somewhere" to profile the server;
// FANOUT_SERVER: another build's main.js (A/B comparisons).
const serverNodeArgs = (process.env.FANOUT_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const serverMain = process.env.FANOUT_SERVER ?? resolve(repo, 'packages/api/dist/main.js');
const server = spawn(process.execPath, [...serverNodeArgs, serverMain], {
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
const deviceIds = (
  (await (await fetch(`${base}/trpc/bms.devices`)).json()) as { result: { data: { id: string }[] } }
).result.data.map((d) => d.id);

const DATA_PREFIX = Buffer.from('"result":{"type":"data","data":{"id":"');
const STARTED = Buffer.from('"type":"started"');
const ERROR = Buffer.from('"error":');
const QUOTE = 0x22;

interface Subscriber {
  device: string;
  ids: string[];
  arrivals: number[];
  started: boolean;
}
const subs: Subscriber[] = [];
const sockets: WebSocket[] = [];
let started = 0;
let errors = 0;

for (let i = 0; i < subscribers; i++) {
  const sub: Subscriber = { device: deviceIds[i % deviceIds.length]!, ids: [], arrivals: [], started: false };
  subs.push(sub);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/trpc`, { perMessageDeflate: false });
  sockets.push(ws);
  ws.on('open', () => {
    ws.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'bms.stream', input: { deviceId: sub.device, interval } },
      }),
    );
  });
  ws.on('message', (data: Buffer) => {
    const now = performance.now();
    const at = data.indexOf(DATA_PREFIX);
    if (at >= 0) {
      const from = at + DATA_PREFIX.length;
      sub.ids.push(data.toString('latin1', from, data.indexOf(QUOTE, from)));
      sub.arrivals.push(now);
    } else if (data.length === 4 && data.toString() === 'PING') {
      ws.send('PONG'); // tRPC's text keep-alive (servers before ops/keep-alive.ts; ws answers protocol pings itself)
    } else if (data.indexOf(STARTED) >= 0) {
      if (!sub.started) started++;
      sub.started = true;
    } else if (data.indexOf(ERROR) >= 0) {
      errors++;
    }
  });
  ws.on('error', () => errors++);
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50));
}
const setupStarted = performance.now();
while (started < subscribers && performance.now() - setupStarted < 60_000) await new Promise((r) => setTimeout(r, 50));
const setupMs = performance.now() - setupStarted;
await sleep(SETTLE_MS);

const measureFrom = performance.now();
const measureTo = measureFrom + duration * 1000;
const sendHistogramBefore = await sendLatenessHistogram();
const cpuBefore = { server: cpuSecondsOf(server.pid!), client: process.cpuUsage() };
await sleep(duration * 1000);
const cpu = {
  server: round((cpuSecondsOf(server.pid!) - cpuBefore.server) / duration, 2),
  client: round(sumCpu(process.cpuUsage(cpuBefore.client)) / duration, 2),
};
const sendHistogramAfter = await sendLatenessHistogram();
const serverRssMb = rssOf(server.pid!);
await sleep(GRACE_MS);
for (const ws of sockets) ws.terminate();

// Event k of a device: the k-th distinct id (record time) any of its subscribers received.
const indexOf = new Map<string, Map<string, number>>();
for (const device of deviceIds) {
  const all = new Set<string>();
  for (const s of subs) if (s.device === device) for (const id of s.ids) all.add(id);
  indexOf.set(device, new Map([...all].sort().map((id, k) => [id, k])));
}
let expected = 0;
let received = 0;
const lateness: number[] = [];
const bySecond: number[][] = []; // lateness by the second of the window the event was due in
const vsStream: number[] = [];
const streamBase = new Map<string, number>();
const bases = subs.map((s) => {
  const index = indexOf.get(s.device)!;
  let b = Infinity;
  s.ids.forEach((id, j) => (b = Math.min(b, s.arrivals[j]! - index.get(id)! * intervalMs)));
  streamBase.set(s.device, Math.min(streamBase.get(s.device) ?? Infinity, b));
  return b;
});
subs.forEach((s, i) => {
  const b = bases[i]!;
  // due in [measureFrom, measureTo): k from kFirst to kLast
  const kFirst = Number.isFinite(b) ? Math.ceil((measureFrom - b) / intervalMs) : 0;
  const dueCount = Number.isFinite(b)
    ? Math.ceil((measureTo - b) / intervalMs) - kFirst
    : Math.round((duration * 1000) / intervalMs);
  expected += dueCount;
  const index = indexOf.get(s.device)!;
  const seen = new Set<number>();
  s.ids.forEach((id, j) => {
    const k = index.get(id)!;
    if (k < kFirst || k >= kFirst + dueCount || seen.has(k)) return;
    seen.add(k);
    received++;
    lateness.push(s.arrivals[j]! - k * intervalMs - b);
    const second = Math.floor((b + k * intervalMs - measureFrom) / 1000);
    (bySecond[second] ??= []).push(s.arrivals[j]! - k * intervalMs - b);
    vsStream.push(s.arrivals[j]! - k * intervalMs - streamBase.get(s.device)!);
  });
});

const serverPeakRssMb = peakOf(server.pid!);
server.kill('SIGTERM');
report({
  subscribers,
  intervalSeconds: interval,
  durationSeconds: duration,
  expected,
  received,
  deliveredRatio: round(received / expected, 4),
  latenessMs: {
    p50: round(percentile(lateness, 50), 1),
    p99: round(percentile(lateness, 99), 1),
    max: round(percentile(lateness, 100), 1),
  },
  /** p99 lateness of the events due in each second of the window: whether lateness is steady or a few bad seconds. */
  latenessP99BySecondMs: Array.from({ length: Math.ceil(duration) }, (_, i) =>
    round(percentile(bySecond[i] ?? [], 99), 0),
  ),
  latenessVsStreamMs: { p50: round(percentile(vsStream, 50), 1), p99: round(percentile(vsStream, 99), 1) },
  serverSendLatenessMs: histogramQuantiles(sendHistogramBefore, sendHistogramAfter),
  errors,
  setupSeconds: round(setupMs / 1000, 1),
  serverCpu: cpu.server,
  loadGeneratorCpu: cpu.client,
  loadGenerator: 'one process, raw ws clients, same machine',
  server: process.env.FANOUT_SERVER ? relative(repo, serverMain) : 'the product (packages/api)',
  serverRssMb,
  serverPeakRssMb,
});
process.exit(0);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
function sumCpu(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}
/** utime + stime of a process, seconds. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
}
/** Cumulative bucket counts of the server's bess_stream_send_lateness_seconds, by upper bound (ms). */
async function sendLatenessHistogram(): Promise<Map<number, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(/^bess_stream_send_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    buckets.set(m[1] === '+Inf' ? Infinity : round(Number(m[1]) * 1000, 1), Number(m[2]));
  }
  return buckets;
}
function histogramQuantiles(
  before: Map<number, number>,
  after: Map<number, number>,
): { p50: string; p99: string; count: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  const q = (p: number) => {
    const i = counts.findIndex((c) => c >= (p / 100) * total);
    return i < 0 || total === 0 ? 'n/a' : bounds[i] === Infinity ? `> ${bounds[i - 1]}` : `<= ${bounds[i]}`;
  };
  return { p50: q(50), p99: q(99), count: total };
}
function rssOf(pid: number): number {
  return round(rssMbOf(pid), 1);
}
function peakOf(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : NaN;
  } catch {
    return NaN;
  }
}
