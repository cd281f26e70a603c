import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createBessClient } from './client.js';
import { ApiKeys } from './ops/auth.js';
import { CorsPolicy } from './ops/cors.js';
import { startSampleServer } from './test-support/server.js';
import type { BessServer } from './server.js';

const KEY = 'operator-key-0123456789';
let server: BessServer;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ server, stop } = await startSampleServer({
    apiKeys: new ApiKeys([KEY]),
    cors: new CorsPolicy(['https://ops.example']),
    limits: { ratePerSecond: 5, burst: 10, maxSubscriptions: 2 },
  }));
});
afterAll(async () => stop());

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers });

describe('API keys', () => {
  it('refuse every API route without a key and accept a valid one in a header or the query', async () => {
    for (const path of ['/', '/bms/devices', '/pcs/ZHPESS232A230002?batch_size=1', '/metrics', '/trpc/devices.list']) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(await res.text()).not.toContain(KEY);
    }
    expect((await get('/bms/devices', { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get('/bms/devices', { Authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect((await get('/bms/devices', { 'X-API-Key': KEY })).status).toBe(200);
    expect((await get(`/bms/devices?api_key=${KEY}`)).status).toBe(200);
    // probes stay open
    expect((await get('/health')).status).toBe(200);
  });

  it('refuse a WebSocket subscription without a key and serve one with it', async () => {
    const anonymous = createBessClient({ url: server.url, WebSocket });
    const error = await new Promise<unknown>((resolve) => {
      anonymous.api.bms.stream.subscribe(
        { deviceId: 'ZHPESS232A230002', interval: 0.1 },
        { onError: resolve, onData: () => resolve(null) },
      );
    });
    // the server refuses the connection's context, so the subscription fails instead of streaming
    expect(error).toBeInstanceOf(Error);
    anonymous.close();
    const keyed = createBessClient({ url: server.url, WebSocket, apiKey: KEY });
    const got = await new Promise<string>((resolve, reject) => {
      const sub = keyed.api.bms.stream.subscribe(
        { deviceId: 'ZHPESS232A230002', interval: 0.1 },
        {
          onData: (e) => {
            sub.unsubscribe();
            resolve(e.data.timestamp);
          },
          onError: reject,
        },
      );
    });
    expect(got).toMatch(/^2024-03-01T/);
    keyed.close();
  });
});

describe('CORS', () => {
  it('answers only the allowed origin', async () => {
    const allowed = await get('/bms/devices', { Origin: 'https://ops.example', 'X-API-Key': KEY });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://ops.example');
    const other = await get('/bms/devices', { Origin: 'https://evil.example', 'X-API-Key': KEY });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${server.url}/bms/devices`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example' },
    });
    expect(preflight.status).toBe(403);
  });
});

describe('limits', () => {
  it('answers 429 past the per-client rate', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await get('/bms/devices', { 'X-API-Key': KEY })).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
  });
});

describe('security headers', () => {
  it('sends a CSP and nosniff on every response', async () => {
    const res = await get('/health');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
