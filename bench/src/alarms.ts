import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, report, round } from './measure.js';
import { freePort, waitForHealth } from './server-process.js';

/**
 * Step: append-to-alarm latency. On a copy of `dataDir`, the server runs with a webhook rule; `episodes`
 * times, rows that take one cabinet's hottest cell past its alarm limit for 4 minutes (then back to
 * normal for 20) are appended to its CSVs, and the step times the append to the alarm listed by
 * `alarms.list` and to its webhook. Then the server is killed (-9) and restarted, and the step
 * checks that no alarm and no delivery was added or lost. With BESS_DATABASE_URL set, on PostgreSQL.
 * Args: dataDir episodes
 */
const [dataArg, episodesArg] = process.argv.slice(2) as [string, string];
const episodes = Number(episodesArg);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEVICE = 'ZHPESS232A230002';
const SECRET = 'bench-secret';
const MINUTE = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'bess-alarms-'));
cpSync(dataArg, dataDir, {
  recursive: true,
  filter: (src) => !src.includes('.bess-index') && !src.includes('.bess-db'),
});
const posts: { at: number; body: string; signature: string | undefined }[] = [];
const hook = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    posts.push({ at: performance.now(), body, signature: req.headers['x-bess-signature'] as string | undefined });
    res.writeHead(204).end();
  });
});
const hookPort = await freePort();
await new Promise<void>((r) => hook.listen(hookPort, '127.0.0.1', r));
const configPath = join(dataDir, 'notify.json');
writeFileSync(
  configPath,
  JSON.stringify({
    channels: { ops: { type: 'webhook', url: `http://127.0.0.1:${hookPort}/hook`, secret: SECRET } },
    rules: [{ severity: 'critical', kinds: ['cell_overtemp'], channels: ['ops'] }],
  }),
);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;

async function startServer() {
  const server = spawn(process.execPath, [resolve(repo, 'packages/api/dist/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      BESS_NOTIFY_CONFIG: configPath,
      BESS_LOG: 'info',
      // The step polls alarms.list every 5 ms from one address.
      BESS_RATE_LIMIT: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let log = '';
  server.stdout.on('data', (d: Buffer) => (log += d.toString()));
  await waitForHealth(`${base}/health`);
  for (let i = 0; i < 1200 && (log.match(/alarm monitor caught up/g) ?? []).length < 3; i++)
    await new Promise((r) => setTimeout(r, 50));
  return server;
}

async function list(input: Record<string, unknown>): Promise<{ id: string; status: string }[]> {
  const res = await fetch(`${base}/trpc/alarms.list?input=${encodeURIComponent(JSON.stringify(input))}`);
  const body = (await res.json()) as { result?: { data: { items: { id: string; status: string }[] } } };
  if (!body.result) throw new Error(`alarms.list answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.result.data.items;
}

const until = async (check: () => Promise<boolean> | boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** The cabinet's newest reading, over all its files (appends go after it, or the detector would not judge them live). */
async function lastTime(): Promise<number> {
  const res = await fetch(`${base}/trpc/devices.list`);
  const devices = ((await res.json()) as { result: { data: { id: string; last: number | string | null }[] } }).result
    .data;
  const last = devices.find((d) => d.id === DEVICE)?.last;
  if (last === null || last === undefined) throw new Error(`no data for ${DEVICE}`);
  return typeof last === 'number' ? last : Date.parse(last);
}
const rows = (from: number, minutes: number, value: number) =>
  Array.from(
    { length: minutes },
    (_, i) => `${new Date(from + i * MINUTE).toISOString().slice(0, 19).replace('T', ' ')},${value}\n`,
  ).join('');

let server = await startServer();
const listedMs: number[] = [];
const deliveredMs: number[] = [];
for (let n = 0; n < episodes; n++) {
  const t0 = Math.ceil(((await lastTime()) + MINUTE) / MINUTE) * MINUTE + 30_000;
  const before = posts.length;
  const started = performance.now();
  // Four hot minutes, then twenty normal ones, so the next episode is a new alarm (past the repeat window).
  appendFileSync(join(dataDir, DEVICE, 'bms1_soc.csv'), rows(t0, 4, 50));
  appendFileSync(join(dataDir, DEVICE, 'bms1_v.csv'), rows(t0, 4, 850));
  appendFileSync(join(dataDir, DEVICE, 'bms1_cell_max_t.csv'), rows(t0, 4, 58));
  await until(async () => (await list({ deviceId: DEVICE, kind: 'cell_overtemp', status: 'active' })).length > 0);
  listedMs.push(performance.now() - started);
  await until(() => posts.length > before);
  deliveredMs.push(posts[before]!.at - started);
  const cool = t0 + 4 * MINUTE;
  appendFileSync(join(dataDir, DEVICE, 'bms1_soc.csv'), rows(cool, 40, 50));
  appendFileSync(join(dataDir, DEVICE, 'bms1_v.csv'), rows(cool, 40, 850));
  appendFileSync(join(dataDir, DEVICE, 'bms1_cell_max_t.csv'), rows(cool, 40, 30));
  await until(async () => (await list({ deviceId: DEVICE, kind: 'cell_overtemp', status: 'active' })).length === 0);
}
await new Promise((r) => setTimeout(r, 1000));
const alarmsBefore = (await list({ limit: 200 })).length;
const deliveriesBefore = posts.length;
server.kill('SIGKILL');
await new Promise((r) => server.once('exit', r));
server = await startServer();
await new Promise((r) => setTimeout(r, 2000));
const alarmsAfter = (await list({ limit: 200 })).length;
const signed = posts.every(
  (p) => p.signature === `sha256=${createHmac('sha256', SECRET).update(p.body).digest('hex')}`,
);
server.kill('SIGKILL');
hook.close();
rmSync(dataDir, { recursive: true, force: true });

report({
  store: process.env.BESS_DATABASE_URL ? 'postgres' : 'pglite',
  episodes,
  listedMs: { p50: round(percentile(listedMs, 50), 1), max: round(Math.max(...listedMs), 1) },
  webhookMs: { p50: round(percentile(deliveredMs, 50), 1), max: round(Math.max(...deliveredMs), 1) },
  webhooks: deliveriesBefore,
  webhooksPerEpisode: round(deliveriesBefore / episodes, 2),
  allSigned: signed,
  afterKill9: { alarmsBefore, alarmsAfter, webhooksAfter: posts.length },
});
