import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDataset } from '@bess/core/generate';
import { startPostgres, startRedis } from '@bess/test-servers';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { percentile, report, round } from './measure.js';
import { freePort, waitForHealth } from './server-process.js';

/**
 * Step: cross-replica delivery. One ingest process and two API replicas over a throwaway
 * PostgreSQL (fsync on) and Redis; N WebSocket subscribers of `bms.stream` (live, 1 s records),
 * half on each replica. Once a second a reading is appended to each cabinet's SOC file; an
 * event's lateness is its arrival at a subscriber minus the moment its row was appended: file
 * pickup (the files store gathers file notices for 100 ms), index append, commit to PostgreSQL,
 * the Redis notice, the replica's read and fan-out. The cross-replica part is measured from the
 * notice: this process listens on the channel too, and an event's lateness from the commit is
 * its arrival minus the first notice of its cabinet with data up to its time.
 * Args: subscribers durationSeconds.
 */
const [subscribersArg, durationArg] = process.argv.slice(2) as [string, string];
const subscribers = Number(subscribersArg);
const duration = Number(durationArg);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const main = resolve(repo, 'packages/api/dist/main.js');
const SECOND = 1000;

/** p50, p99 and max of lateness samples (ms, one decimal). */
const quantiles = (values: number[]) => ({
  p50: round(percentile(values, 50), 1),
  p99: round(percentile(values, 99), 1),
  max: round(percentile(values, 100), 1),
});
const WARMUP_SECONDS = 2;

process.env.BESS_PG_FSYNC = 'on';
const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
const work = mkdtempSync(join(tmpdir(), 'bess-pg-fanout-'));
const root = join(work, 'data');
const children: ChildProcess[] = [];

function start(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      DATA_DIR: root,
      BESS_LOG: 'warn',
      BESS_ALARMS: '0',
      BESS_DATABASE_URL: pg.url,
      BESS_BUS: 'redis',
      BESS_REDIS_URL: redis.url,
      BESS_RATE_LIMIT: '0',
      BESS_MAX_SUBSCRIPTIONS: '0',
      BESS_MAX_CONNECTIONS_PER_CLIENT: '0',
      BESS_MAX_REQUESTS_IN_FLIGHT: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

try {
  const generated = await generateDataset({ root, devices: 3, days: 2, seed: 808, cells: false, workers: 2 });
  const devices = generated.devices.map((d) => d.deviceId);
  start({ BESS_ROLE: 'ingest', BESS_WATCH_MS: '1000' });
  const ports = [await freePort(), await freePort()];
  for (const port of ports) start({ BESS_ROLE: 'api', PORT: String(port) });
  for (const port of ports) await waitForHealth(`http://127.0.0.1:${port}/health`);
  for (const port of ports) {
    for (let i = 0; ; i++) {
      const r = (await (await fetch(`http://127.0.0.1:${port}/bms/devices`)).json()) as { count?: number };
      if (r.count === devices.length) break;
      if (i > 600) throw new Error('replica did not see the cabinets');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // Each cabinet's next readings go on whole seconds after its newest reading of any signal: each
  // is then a new 1 s record (one before it would only change a record already sent).
  const csvOf = (d: string): string => join(root, d, 'bms1_soc.csv');
  const listed = (await (await fetch(`http://127.0.0.1:${ports[0]}/bms/devices`)).json()) as {
    details: { id: string; last: string }[];
  };
  const next = new Map(
    listed.details.map((d) => [d.id, Math.floor(Date.parse(d.last) / SECOND) * SECOND + SECOND] as const),
  );
  const appendedAt = new Map<string, number>(); // `${device} ${iso}` -> performance.now()
  const notices: { deviceId: string; upTo: number; at: number }[] = [];
  const listener = new Redis(redis.url);
  await listener.subscribe('bess:data');
  listener.on('message', (_channel: string, message: string) => {
    const at = performance.now();
    const notice = JSON.parse(message) as { deviceId: string; upTo: number };
    notices.push({ ...notice, at });
  });

  const DATA_PREFIX = Buffer.from('"result":{"type":"data","data":{"id":"');
  const STARTED = Buffer.from('"type":"started"');
  const arrivals: { key: string; at: number; replica: number; subscriber: number }[] = [];
  let started = 0;
  let errors = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < subscribers; i++) {
    const device = devices[i % devices.length]!;
    const replica = i % 2;
    const ws = new WebSocket(`ws://127.0.0.1:${ports[replica]}/trpc`, { perMessageDeflate: false });
    sockets.push(ws);
    ws.on('open', () =>
      ws.send(
        JSON.stringify({
          id: 1,
          method: 'subscription',
          params: { path: 'bms.stream', input: { deviceId: device, live: true, step: 1 } },
        }),
      ),
    );
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      const at = data.indexOf(DATA_PREFIX);
      if (at >= 0) {
        const from = at + DATA_PREFIX.length;
        arrivals.push({
          key: `${device} ${data.toString('latin1', from, data.indexOf(0x22, from))}`,
          at: now,
          replica,
          subscriber: i,
        });
      } else if (data.indexOf(STARTED) >= 0) started++;
      else if (data.toString() === 'PING') ws.send('PONG');
    });
    ws.on('error', () => errors++);
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50));
  }
  for (let i = 0; started < subscribers && i < 600; i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 2_000));

  const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');
  const stamp = (t: number): string => new Date(t).toISOString().slice(0, 19).replace('T', ' ');
  // Two seconds of appends first, not measured: the first records of each stream warm the path up.
  for (let k = -WARMUP_SECONDS; k < duration; k++) {
    const tick = performance.now();
    for (const d of devices) {
      const t = next.get(d)!;
      appendFileSync(csvOf(d), `${stamp(t)},${(50 + (Math.abs(k) % 10) / 10).toFixed(1)}\n`);
      if (k >= 0) appendedAt.set(`${d} ${iso(t)}`, performance.now());
      next.set(d, t + SECOND);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, SECOND - (performance.now() - tick))));
  }
  await new Promise((r) => setTimeout(r, 3_000));
  for (const ws of sockets) ws.terminate();
  listener.disconnect();
  /** When the commit holding record `t` of `device` was announced. */
  const committedAt = (device: string, t: number): number | undefined =>
    notices.find((n) => n.deviceId === device && n.upTo >= t)?.at;

  // Each (subscriber, appended record) pair once: the first arrival's lateness; any further one is a duplicate.
  const lateness: number[] = [];
  const byReplica: number[][] = [[], []];
  const delivered = new Set<string>();
  const fromCommit: number[] = [];
  const commitBySecond: number[][] = [];
  const firstAppend = Math.min(...appendedAt.values());
  let duplicates = 0;
  let outOfOrder = 0;
  const lastId = new Map<number, string>();
  for (const a of arrivals) {
    const id = a.key.slice(a.key.indexOf(' ') + 1);
    if ((lastId.get(a.subscriber) ?? '') > id) outOfOrder++;
    lastId.set(a.subscriber, id);
    const appended = appendedAt.get(a.key);
    if (appended === undefined) continue; // the record that was newest when the subscription started
    const pair = `${a.subscriber} ${a.key}`;
    if (delivered.has(pair)) {
      duplicates++;
      continue;
    }
    delivered.add(pair);
    lateness.push(a.at - appended);
    byReplica[a.replica]!.push(a.at - appended);
    const device = a.key.slice(0, a.key.indexOf(' '));
    const commit = committedAt(device, Date.parse(a.key.slice(a.key.indexOf(' ') + 1)));
    if (commit !== undefined) {
      fromCommit.push(a.at - commit);
      const second = Math.floor((appended - firstAppend) / SECOND);
      (commitBySecond[second] ??= []).push(a.at - commit);
    }
  }
  const expected = appendedAt.size * (subscribers / devices.length);
  report({
    subscribers,
    replicas: 2,
    devices: devices.length,
    eventsPerSecondPerStream: 1,
    durationSeconds: duration,
    expected,
    received: lateness.length,
    deliveredRatio: round(lateness.length / expected, 4),
    duplicates,
    outOfOrder,
    crossReplicaLatenessMs: {
      from: 'the ingest commit (its Redis notice) to the arrival at a subscriber on either replica',
      ...quantiles(fromCommit),
      p99BySecond: commitBySecond.map((l) => round(percentile(l, 99), 0)),
    },
    latenessMs: {
      from: 'the append to the CSV (write returned) to the arrival at the subscriber',
      ...quantiles(lateness),
    },
    latenessP99ByReplicaMs: byReplica.map((l) => round(percentile(l, 99), 1)),
    errors,
    started,
    subscribersWithEvents: new Set(arrivals.map((a) => a.subscriber)).size,
    receivedByReplica: byReplica.map((l) => l.length),
  });
} finally {
  for (const c of children) c.kill('SIGKILL');
  pg.stop();
  redis.stop();
  rmSync(work, { recursive: true, force: true });
}
