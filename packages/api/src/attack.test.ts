import fc from 'fast-check';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiKeys } from './ops/auth.js';
import { CorsPolicy } from './ops/cors.js';
import { jsonLogger } from './ops/log.js';
import type { BessServer } from './server.js';
import { eventually, startSampleServer } from './test-support/server.js';

/**
 * Tests that attack: raw bytes on the socket (fetch would normalise every URL), hostile
 * methods, encodings and headers, batch bombs, subscription and connection floods, key
 * guessing. The server must answer each with a 4xx (or close the socket), keep answering
 * /health quickly, and never write a key to its log.
 */
const KEY_A = 'key-alpha-0123456789';
const KEY_B = 'key-beta-9876543210';
const KEYS = [KEY_A, KEY_B];
const DEVICE = 'ZHPESS232A230002';
const logLines: string[] = [];
let server: BessServer;
let stop: () => Promise<void>;
let port: number;

beforeAll(async () => {
  ({ server, stop } = await startSampleServer({
    apiKeys: new ApiKeys(KEYS),
    cors: new CorsPolicy(['https://ops.example']),
    limits: { ratePerSecond: 1000, burst: 4000, maxSubscriptions: 5, maxConnections: 40, authFailuresPerMinute: 30 },
    authTimeoutMs: 300,
    log: jsonLogger('debug', (line) => logLines.push(line)),
  }));
  port = server.port;
});
afterAll(async () => {
  await stop();
  for (const line of logLines) for (const key of KEYS) expect(line).not.toContain(key);
});

/** Sends raw bytes and collects the answer until the server closes or `ms` pass. */
function raw(bytes: string | Buffer, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    socket.on('data', (c) => {
      chunks.push(c);
      // One response is enough: stop once its head has arrived and any declared body is in.
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = /content-length: *(\d+)/i.exec(text)?.[1];
      if (
        head >= 0 &&
        (length === undefined ? !/transfer-encoding/i.test(text) : text.length >= head + 4 + Number(length))
      )
        done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.setTimeout(ms, done);
    socket.write(bytes);
  });
}

const statusOf = (answer: string): number | null => {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
  return m ? Number(m[1]) : null;
};

async function healthMs(): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${server.url}/health`);
  expect(res.status).toBe(200);
  return performance.now() - started;
}

const MALFORMED_TARGETS = [
  'http://[/trpc',
  'http://[::1/trpc',
  'http://a:b@[/trpc',
  'ws://x/trpc',
  '*',
  'http://',
  '//evil.example/trpc',
  '/trpc/%',
  '/bms/%C0%AE%C0%AE',
  '/bms/%E0%80%AF/stream',
  '/pcs/%FF%FE',
  '/bms/%',
  '/pcs/ZHPESS232A230002%',
  '/index.html/',
  '/docs/%2e%2e/%2e%2e/etc/passwd',
  '/assets/..%2f..%2f..%2fetc%2fpasswd',
  '/..%5c..%5cwindows',
  `/${'a'.repeat(5000)}`,
];

describe('malformed request-targets', () => {
  it('are answered with a 4xx, with and without a WebSocket upgrade, and the server stays up', async () => {
    for (const target of MALFORMED_TARGETS) {
      for (const upgrade of [false, true]) {
        const headers = upgrade
          ? 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
          : '';
        const answer = await raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${KEY_A}\r\n${headers}\r\n`);
        const status = statusOf(answer);
        // A 4xx, or the socket closed without a response (an upgrade refused outright).
        if (status !== null) expect(status, `${target} upgrade=${upgrade}`).toBeLessThan(500);
      }
    }
    expect(await healthMs()).toBeLessThan(100);
  });

  it('never yield a 5xx for arbitrary targets, methods and percent-encodings', async () => {
    const segment = fc.oneof(
      fc.constantFrom('bms', 'pcs', 'trpc', 'docs', 'assets', DEVICE, 'stream', 'export.csv', 'devices', '..', '.', ''),
      fc.constantFrom('%', '%0', '%C0%AE', '%E0%80%AF', '%F0%80%80%AF', '%FF', '%00', '%2F', '%5C', '%25', '%u002e'),
      fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,20}$/),
    );
    const target = fc.oneof(
      fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
      fc
        .tuple(fc.array(segment, { maxLength: 4 }), fc.stringMatching(/^[A-Za-z0-9=&%_.-]{0,40}$/))
        .map(([parts, q]) => `/${parts.join('/')}?${q}`),
      fc.constantFrom(...MALFORMED_TARGETS),
    );
    const method = fc.constantFrom(
      'GET',
      'HEAD',
      'POST',
      'OPTIONS',
      'TRACE',
      'PUT',
      'DELETE',
      'PATCH',
      'PROPFIND',
      'FOO',
    );
    await fc.assert(
      fc.asyncProperty(method, target, fc.boolean(), async (m, t, keyed) => {
        const key = keyed ? `X-API-Key: ${KEY_B}\r\n` : '';
        const body =
          m === 'POST' || m === 'PUT' ? 'Content-Length: 2\r\nContent-Type: application/json\r\n\r\n{}' : '\r\n';
        const answer = await raw(`${m} ${t} HTTP/1.1\r\nHost: 127.0.0.1\r\n${key}Connection: close\r\n${body}`);
        const status = statusOf(answer);
        if (status !== null) expect(status, `${m} ${t}`).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
    expect(await healthMs()).toBeLessThan(100);
  });

  it('answer TRACE with 405 and HEAD on a stream at once', async () => {
    expect(statusOf(await raw(`TRACE /trpc/bms.devices HTTP/1.1\r\nHost: x\r\n\r\n`))).toBe(405);
    const started = performance.now();
    const head = await raw(`HEAD /bms/${DEVICE}/stream HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY_A}\r\n\r\n`, 3000);
    expect(statusOf(head)).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('batch bombs', () => {
  it('refuse a batch over the cap, and keep /health answering while heavy queries queue', async () => {
    const call = (i: number) => ({ deviceId: DEVICE, from: Date.UTC(2024, 2, 1) + i * 1000 });
    const batch = (n: number) => {
      const paths = Array.from({ length: n }, () => 'analytics.anomalies').join(',');
      const input = Object.fromEntries(Array.from({ length: n }, (_, i) => [i, call(i)]));
      return `${server.url}/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`;
    };
    const headers = { 'X-API-Key': KEY_A };
    expect((await fetch(batch(17), { headers })).status).toBe(400);

    const bombs = Array.from({ length: 8 }, () =>
      fetch(batch(16), { headers }).then(async (r) => ({ status: r.status, body: await r.text() })),
    );
    const latencies: number[] = [];
    let settled = false;
    void Promise.all(bombs).then(() => (settled = true));
    while (!settled) {
      latencies.push(await healthMs());
      await new Promise((r) => setTimeout(r, 20));
    }
    const answers = await Promise.all(bombs);
    latencies.sort((a, b) => a - b);
    // The loop is never held for long (it was held 24 s by such a batch); the 100 ms bar is measured from another process (bench).
    expect(latencies[Math.floor(latencies.length * 0.99)]!).toBeLessThan(250);
    // Each call answered: its result, or TOO_MANY_REQUESTS once the client holds its share of the gate.
    for (const { status, body } of answers) {
      expect(status).toBeLessThan(500);
      expect(body).not.toContain('INTERNAL_SERVER_ERROR');
    }
    expect(answers.map((a) => a.body).join('')).toContain('TOO_MANY_REQUESTS');
  });
});

describe('fair turns', () => {
  /** /health latencies, sampled every 20 ms until `done` settles (each sample waits for its answer). */
  async function probeWhile(done: Promise<unknown>): Promise<number[]> {
    let settled = false;
    void done.finally(() => (settled = true));
    const latencies: number[] = [];
    while (!settled) {
      latencies.push(await healthMs());
      await new Promise((r) => setTimeout(r, 20));
    }
    return latencies.sort((a, b) => a - b);
  }

  it('refuse a WebSocket message of more than 16 calls whole, queueing none of them', async () => {
    const { ws, messages, closed } = await socket();
    const calls = Array.from({ length: 1000 }, (_, i) => ({
      id: i + 1,
      method: 'query',
      params: { path: 'devices.list' },
    }));
    ws.send(JSON.stringify(calls));
    await eventually(() => messages.length > 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(messages).toHaveLength(1);
    expect(JSON.stringify(messages[0])).toContain('at most 16 calls');
    ws.close();
    await closed;
  });

  it('run 240 page queries over 16 messages one per loop turn, answering /health in between', async () => {
    const { ws, messages, closed } = await socket();
    const answered = new Promise<void>((resolve) => {
      const check = setInterval(() => messages.length >= 240 && (clearInterval(check), resolve()), 10);
    });
    for (let m = 0; m < 16; m++) {
      const calls = Array.from({ length: 15 }, (_, k) => {
        const i = m * 15 + k;
        return {
          id: i + 1,
          method: 'query',
          params: { path: 'bms.batch', input: { deviceId: DEVICE, batchSize: 1000, step: 1, skip: i * 1000 } },
        };
      });
      ws.send(JSON.stringify(calls));
    }
    const latencies = await probeWhile(answered);
    expect(messages.filter((m) => JSON.stringify(m).includes('"records"')).length).toBe(240);
    // Without turns the calls ran back to back: /health waited 1-2 s.
    expect(latencies.length).toBeGreaterThan(5);
    expect(latencies[Math.floor(latencies.length * 0.99)]!).toBeLessThan(250);
    ws.close();
    await closed;
  });

  it('serve another client’s query promptly while one client floods the queue', { timeout: 30_000 }, async () => {
    const flooders = await Promise.all(Array.from({ length: 4 }, () => socket()));
    let id = 0;
    const flood = setInterval(() => {
      for (const f of flooders)
        f.ws.send(
          JSON.stringify(
            Array.from({ length: 16 }, () => ({
              id: ++id,
              method: 'query',
              params: { path: 'devices.summary', input: { deviceId: DEVICE } },
            })),
          ),
        );
    }, 5);
    await new Promise((r) => setTimeout(r, 500));
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const res = await fetch(`${server.url}/trpc/devices.list`, { headers: { 'X-API-Key': KEY_B } });
      expect(res.status).toBe(200);
      times.push(performance.now() - started);
    }
    clearInterval(flood);
    for (const f of flooders) f.ws.close();
    await Promise.all(flooders.map((f) => f.closed));
    times.sort((a, b) => a - b);
    // The flooder's calls wait behind each other; the other client's get the next turn.
    expect(times[8]!).toBeLessThan(250);
    // The flooder's own backlog (at most 1,024 calls) drains before its next call is answered.
    expect((await fetch(`${server.url}/trpc/devices.list`, { headers: { 'X-API-Key': KEY_A } })).status).toBe(200);
  });

  it('cut off an HTTP client that asks for megabytes and never reads them', async () => {
    const input = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [i, { deviceId: DEVICE, batchSize: 1000, step: 1, skip: i * 1000 }]),
    );
    const target = `/trpc/${Array.from({ length: 16 }, () => 'bms.batch').join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`;
    const before = server.metrics.eventsDropped.get({ reason: 'client_cut_off' });
    const client = connect(port, '127.0.0.1', () => {
      client.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY_A}\r\n\r\n`);
      client.pause(); // never reads: the answer piles up in the server
    });
    client.on('error', () => {});
    // Cut off after two 2-second checks without progress.
    await eventually(() => server.metrics.eventsDropped.get({ reason: 'client_cut_off' }) > before, 10_000);
    client.destroy();
  }, 15_000);
});

/** A WebSocket on /trpc with the first key, collecting every message. */
function socket(query = `?api_key=${KEY_A}`): Promise<{ ws: WebSocket; messages: unknown[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/trpc${query}`);
    const messages: unknown[] = [];
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.on('message', (m) => messages.push(JSON.parse((m as Buffer).toString())));
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

describe('browser sessions', () => {
  it('sign in with a key into an HttpOnly SameSite=Strict cookie that the API and the WebSocket honour', async () => {
    expect(await (await fetch(`${server.url}/auth/session`)).json()).toEqual({ keysRequired: true, signedIn: false });
    const wrong = await fetch(`${server.url}/auth/session`, { method: 'POST', body: JSON.stringify({ key: 'nope' }) });
    expect(wrong.status).toBe(401);
    const signIn = await fetch(`${server.url}/auth/session`, { method: 'POST', body: JSON.stringify({ key: KEY_B }) });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^bess_session=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\//);
    const { csrfToken } = (await signIn.json()) as { csrfToken: string };
    const jar = cookie.split(';')[0]!;
    expect((await fetch(`${server.url}/bms/devices`, { headers: { Cookie: jar } })).status).toBe(200);
    expect(
      (await fetch(`${server.url}/bms/devices`, { headers: { Cookie: `bess_session=planted; ${jar}` } })).status,
    ).toBe(200);
    expect((await fetch(`${server.url}/trpc/devices.list`, { headers: { Cookie: jar } })).status).toBe(200);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/trpc`, {
      headers: { Cookie: jar, Origin: `http://127.0.0.1:${port}` },
    });
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('open', () =>
        ws.send(
          JSON.stringify({
            id: 1,
            method: 'subscription',
            params: { path: 'bms.stream', input: { deviceId: DEVICE, interval: 0.1 } },
          }),
        ),
      );
      ws.on('message', (m) => (m as Buffer).toString().includes('"data"') && resolve((m as Buffer).toString()));
      ws.once('close', (code) => reject(new Error(`closed ${code}`)));
    });
    expect(first).toContain('"timestamp"');
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    // Signing out needs the CSRF token: a forged cross-site request cannot end (or change) anything.
    expect((await fetch(`${server.url}/auth/session`, { method: 'DELETE', headers: { Cookie: jar } })).status).toBe(
      403,
    );
    // A token of the right length in characters but not in bytes (latin-1 bytes on the wire) is wrong, not a 500.
    const forged = await raw(
      Buffer.concat([
        Buffer.from(`DELETE /auth/session HTTP/1.1\r\nHost: x\r\nCookie: ${jar}\r\nX-CSRF-Token: `),
        Buffer.alloc(csrfToken.length, 0xe9),
        Buffer.from('\r\n\r\n'),
      ]),
    );
    expect(statusOf(forged)).toBe(403);
    const forgedPost = await raw(
      Buffer.concat([
        Buffer.from(
          `POST /trpc/bms.devices HTTP/1.1\r\nHost: x\r\nCookie: ${jar}\r\nContent-Length: 0\r\nX-CSRF-Token: `,
        ),
        Buffer.alloc(csrfToken.length, 0xe9),
        Buffer.from('\r\n\r\n'),
      ]),
    );
    expect(statusOf(forgedPost)).toBe(403);
    expect(
      (
        await fetch(`${server.url}/auth/session`, {
          method: 'DELETE',
          headers: { Cookie: jar, 'X-CSRF-Token': csrfToken },
        })
      ).status,
    ).toBe(204);
    expect((await fetch(`${server.url}/bms/devices`, { headers: { Cookie: jar } })).status).toBe(401);
    // Signing out ends what the session had open.
    expect(await wsClosed).toBe(4401);
  });
});

describe('floods', () => {
  it('hold the subscription cap per client across one socket and many', async () => {
    const one = await socket();
    for (let id = 1; id <= 20; id++) {
      one.ws.send(
        JSON.stringify({
          id,
          method: 'subscription',
          params: { path: 'bms.stream', input: { deviceId: DEVICE, interval: 1 } },
        }),
      );
    }
    const other = await socket();
    other.ws.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'pcs.stream', input: { deviceId: DEVICE, interval: 1 } },
      }),
    );
    await new Promise((r) => setTimeout(r, 500));
    const refused = (m: unknown[]) =>
      new Set(m.filter((x) => JSON.stringify(x).includes('TOO_MANY_REQUESTS')).map((x) => (x as { id: number }).id))
        .size;
    const streaming = (m: unknown[]) =>
      new Set(
        m
          .filter((x) => (x as { result?: { type?: string } }).result?.type === 'data')
          .map((x) => (x as { id: number }).id),
      ).size;
    expect(refused(one.messages)).toBe(15);
    expect(streaming(one.messages)).toBe(5);
    // The same key on another socket is the same client: it is at its cap too.
    expect(refused(other.messages)).toBe(1);
    expect(server.hub.stats().subscribers).toBe(5);
    one.ws.close();
    other.ws.close();
    await Promise.all([one.closed, other.closed]);
  });

  it('close sockets that never present a key, and cap connections per address', async () => {
    await eventually(() => server.connections() === 0);
    const silent = await socket('');
    expect(await silent.closed).toBe(4401);
    const many: WebSocket[] = [];
    let refused = 0;
    for (let i = 0; i < 50; i++) {
      try {
        many.push((await socket()).ws);
      } catch {
        refused++;
      }
    }
    expect(many.length).toBe(40);
    expect(refused).toBe(10);
    for (const ws of many) ws.close();
    await eventually(() => server.connections() === 0);
    const again = await socket();
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
    again.ws.close();
  });

  it('throttle failed key attempts per address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++)
      statuses.push((await fetch(`${server.url}/bms/devices`, { headers: { 'X-API-Key': `guess-${i}` } })).status);
    // 30 wrong keys a minute per address (one was tried above); then every request is refused, even with a valid key.
    const first429 = statuses.indexOf(429);
    expect(first429).toBeGreaterThan(25);
    expect(statuses.slice(0, first429).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(first429).every((s) => s === 429)).toBe(true);
    expect((await fetch(`${server.url}/bms/devices`, { headers: { 'X-API-Key': KEY_A } })).status).toBe(429);
    // Signing in is throttled too: it is a key check like any other.
    expect(
      (await fetch(`${server.url}/auth/session`, { method: 'POST', body: JSON.stringify({ key: KEY_A }) })).status,
    ).toBe(429);
    const blocked = await socket().then(
      () => 'open',
      () => 'refused',
    );
    expect(blocked).toBe('refused');
  });
});
