import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDataset, type BessDataset } from '@bess/core';
import { generateDataset } from '@bess/core/generate';
import { freePort, startPostgres, startRedis, type ThrowawayPostgres, type ThrowawayRedis } from '@bess/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBessServer, type BessServer } from '../server.js';

/**
 * One ingest process and two API replicas (`node dist/main.js`, as an operator runs them) over a
 * throwaway PostgreSQL and Redis; a files-store server over a copy of the same data to compare with.
 */
const MAIN = resolve(import.meta.dirname, '../../dist/main.js');
const work = mkdtempSync(join(tmpdir(), 'bess-cluster-'));
const root = join(work, 'data');
const MINUTE = 60_000;

let pg: ThrowawayPostgres;
let redis: ThrowawayRedis;
let device: string;
const processes: ChildProcess[] = [];
let replicaA: string;
let replicaB: string;
let files: BessDataset;
let filesServer: BessServer;

function startProcess(name: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, BESS_LOG: 'warn', BESS_ALARMS: '0', DATA_DIR: root, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) console.error(`${name} exited ${code}:\n${out.slice(-4000)}`);
  });
  processes.push(child);
  return child;
}

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A live SSE subscription: every event's id and record, with the time it arrived. */
function subscribe(url: string): { events: { id: string; at: number; soc: number | null }[]; close: () => void } {
  const events: { id: string; at: number; soc: number | null }[] = [];
  const req = request(url, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data)
          events.push({ id, at: performance.now(), soc: (JSON.parse(data) as { soc: number | null }).soc });
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { events, close: () => req.destroy() };
}

const csvTime = (t: number): string => new Date(t).toISOString().replace('T', ' ').slice(0, 19);

/**
 * The next whole minute after the cabinet's newest reading of any signal, as replica B sees it: a
 * new point of the BMS record grid (60 s step). A reading before it would change a record already sent.
 */
async function nextGridMinute(): Promise<number> {
  const listed = (await get(`${replicaB}/bms/devices`)).body as { details: { id: string; last: string }[] };
  const last = Date.parse(listed.details.find((d) => d.id === device)!.last);
  return Math.floor(last / MINUTE) * MINUTE + MINUTE;
}

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  const report = await generateDataset({ root, devices: 2, days: 1, seed: 4242, cells: false, workers: 2 });
  device = report.devices[0]!.deviceId;
  const copy = join(work, 'files-copy');
  cpSync(root, copy, { recursive: true });
  files = await openDataset(copy, { workers: 2 });
  filesServer = await createBessServer({ dataset: files, port: 0, host: '127.0.0.1' });

  const cluster = { BESS_DATABASE_URL: pg.url, BESS_BUS: 'redis', BESS_REDIS_URL: redis.url };
  // Replicas catch up on their own only every minute here: delivery within a second must come from Redis.
  const replica = { ...cluster, BESS_ROLE: 'api', BESS_CATCHUP_MS: '60000' };
  startProcess('ingest', { ...cluster, BESS_ROLE: 'ingest', BESS_WATCH_MS: '500' });
  const [portA, portB] = [await freePort(), await freePort()];
  startProcess('replica A', { ...replica, PORT: String(portA) });
  startProcess('replica B', { ...replica, PORT: String(portB) });
  replicaA = `http://127.0.0.1:${portA}`;
  replicaB = `http://127.0.0.1:${portB}`;
  for (const url of [replicaA, replicaB]) {
    await until(`${url} to list both cabinets`, async () => {
      const r = await get(`${url}/bms/devices`);
      return r.status === 200 && (r.body as { count: number }).count === 2 ? true : null;
    });
  }
}, 180_000);

afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  await filesServer?.close();
  await files?.close();
  pg?.stop();
  redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('one ingest and two API replicas on PostgreSQL and Redis', () => {
  it('answer batches and history identically on both replicas and as the files store does', async () => {
    const paths = [
      `/bms/${device}?batch_size=100&skip=0`,
      `/bms/${device}?batch_size=500&skip=777`,
      `/pcs/${device}?batch_size=1000&skip=123&step=300`,
      `/bms/${device}?batch_size=50&skip=0&tail=true`,
      `/bms/NOPE?batch_size=1&skip=0`,
    ];
    const info = files.device(device);
    const input = {
      deviceId: device,
      signals: ['bms1_soc', 'bms1_v', 'pcs1_ap'],
      from: info.first!,
      to: info.last!,
      maxPoints: 600,
    };
    paths.push(`/trpc/history.series?input=${encodeURIComponent(JSON.stringify(input))}`);
    for (const path of paths) {
      const [a, b, f] = await Promise.all([get(replicaA + path), get(replicaB + path), get(filesServer.url + path)]);
      expect(a, path).toStrictEqual(f);
      expect(b, path).toStrictEqual(f);
    }
  }, 60_000);

  it('delivers a row appended to a CSV to a subscriber on replica B within 1 s, exactly once and in order', async () => {
    const sub = subscribe(`${replicaB}/bms/${device}/stream?live=true`);
    try {
      await until('the first live event', async () => (sub.events.length > 0 ? true : null), 10_000);
      const csv = join(root, device, 'bms1_soc.csv');
      const at = await nextGridMinute();
      const before = sub.events.length;
      const appendedAt = performance.now();
      appendFileSync(csv, `${csvTime(at)},12.5\n`);
      const arrived = await until(
        'the appended row',
        async () => sub.events.find((e, i) => i >= before && e.soc === 12.5) ?? null,
        5_000,
      );
      const lateness = arrived.at - appendedAt;
      console.log(`append → replica B subscriber: ${Math.round(lateness)} ms`);
      expect(lateness).toBeLessThan(1_000);
      await new Promise((r) => setTimeout(r, 1_500));
      const ids = sub.events.map((e) => e.id);
      expect(new Set(ids).size, 'no record twice').toBe(ids.length);
      expect([...ids].sort(), 'in order').toEqual(ids);
    } finally {
      sub.close();
    }
  }, 30_000);

  it('after a Redis restart, the records missed meanwhile arrive in order with no duplicates', async () => {
    const sub = subscribe(`${replicaB}/bms/${device}/stream?live=true`);
    try {
      await until('the first live event', async () => (sub.events.length > 0 ? true : null), 10_000);
      const csv = join(root, device, 'bms1_soc.csv');
      const at = await nextGridMinute();
      redis.restart(); // notices published while it is away are lost
      for (let k = 0; k < 3; k++) appendFileSync(csv, `${csvTime(at + k * MINUTE)},${21 + k}\n`);
      await until(
        'the three rows',
        async () => ([21, 22, 23].every((v) => sub.events.some((e) => e.soc === v)) ? true : null),
        15_000,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      const ids = sub.events.map((e) => e.id);
      expect(new Set(ids).size, 'no record twice').toBe(ids.length);
      expect([...ids].sort(), 'in order').toEqual(ids);
      expect(sub.events.filter((e) => [21, 22, 23].includes(e.soc!)).map((e) => e.soc)).toEqual([21, 22, 23]);
    } finally {
      sub.close();
    }
  }, 40_000);

  it('answers 503 while PostgreSQL is down and recovers by itself when it returns', async () => {
    const path = `/bms/${device}?batch_size=10&skip=5`;
    const before = await get(replicaB + path);
    pg.pause();
    try {
      const down = await until(
        'a 503',
        async () => {
          const r = await get(replicaA + path);
          return r.status === 503 ? r : null;
        },
        15_000,
      );
      expect(down.body).toEqual({ detail: 'the PostgreSQL store cannot be reached; retry shortly' });
      const ready = await get(`${replicaA}/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ ready: false, storeReachable: false });
      expect((await get(`${replicaB}/health`)).status).toBe(200);
    } finally {
      pg.resume();
    }
    const back = await until(
      'answers again',
      async () => {
        const r = await get(replicaA + path);
        return r.status === 200 ? r : null;
      },
      30_000,
    );
    expect(back).toStrictEqual(before);
    await until('ready again', async () => ((await get(`${replicaA}/ready`)).status === 200 ? true : null), 15_000);
  }, 90_000);
});
