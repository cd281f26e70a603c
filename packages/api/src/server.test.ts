import { spawnSync } from 'node:child_process';
import { get as httpGet, request } from 'node:http';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createBessClient, type BessClient } from './client.js';
import { eventually, startSampleServer } from './test-support/server.js';
import type { BessServer } from './server.js';

interface RestPage {
  data: Record<string, unknown>[];
  total_records: number;
}

const DEVICE = 'ZHPESS232A230002';
let server: BessServer;
let stop: () => Promise<void>;
let bess: BessClient;
let client: BessClient['api'];

beforeAll(async () => {
  ({ server, stop } = await startSampleServer());
  bess = createBessClient({ url: server.url, WebSocket });
  client = bess.api;
});
afterAll(async () => {
  bess.close();
  await stop();
});

async function get(path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: await res.text(), headers: Object.fromEntries(res.headers) };
}

describe('typed tRPC client', () => {
  it('lists devices, summarises one and pages its records', async () => {
    const devices = await client.bms.devices.query();
    expect(devices.map((d) => d.id)).toEqual(['ZHPESS232A230002', 'ZHPESS232A230003', 'ZHPESS232A230007']);
    const summary = await client.devices.summary.query({ deviceId: DEVICE });
    expect(summary.hasCells).toBe(true);
    const soc = summary.signals.find((s) => s.signal === 'bms1_soc')!;
    expect(soc.periodSeconds).toBe(60);
    expect(soc.quality.linesRead).toBe(
      soc.quality.accepted + Object.values(soc.quality.rejected).reduce((a, b) => a + b, 0),
    );
    // The light entry a polling view reads: the summary's span and kinds, the catalogue as a count.
    const { signals, ...span } = await client.devices.info.query({ deviceId: DEVICE });
    expect(span).toEqual({
      id: summary.id,
      timeZone: null,
      first: summary.first,
      last: summary.last,
      hasBms: true,
      hasPcs: true,
      hasCells: true,
    });
    expect(signals).toBe(summary.signals.length);
    const page = await client.bms.batch.query({ deviceId: DEVICE, batchSize: 5, skip: 100 });
    expect(page.records).toHaveLength(5);
    expect(page.total).toBeGreaterThan(4000);
    expect(page.stepSeconds).toBe(60);
    expect(Object.keys(page.records[0]!)).toEqual(
      expect.arrayContaining(['timestamp', 'soc', 'soh', 'voltage', 'current', 'cell_max_temp']),
    );
    const last = await client.bms.batch.query({ deviceId: DEVICE, batchSize: 1000, skip: page.total - 3 });
    expect(last.records).toHaveLength(3);
  });

  it('answers unknown devices with NOT_FOUND and bad input with BAD_REQUEST naming the field', async () => {
    await expect(client.devices.info.query({ deviceId: 'NOPE' })).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    await expect(client.bms.batch.query({ deviceId: 'NOPE', batchSize: 5, skip: 0 })).rejects.toMatchObject({
      data: { code: 'NOT_FOUND' },
    });
    await expect(client.bms.batch.query({ deviceId: DEVICE, batchSize: 5000, skip: 0 })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', field: 'batchSize' },
    });
    await expect(client.bms.batch.query({ deviceId: '../../etc', batchSize: 5, skip: 0 })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', field: 'deviceId' },
    });
    await expect(client.bms.batch.query({ deviceId: DEVICE, batchSize: 5, skip: -1 })).rejects.toMatchObject({
      data: { field: 'skip' },
    });
    await expect(
      client.history.series.query({ deviceId: DEVICE, signals: ['nope'], from: 0, to: 1 }),
    ).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
  });

  it('returns downsampled history and cell snapshots', async () => {
    const h = await client.history.series.query({
      deviceId: DEVICE,
      signals: ['bms1_soc', 'pcs1_ap'],
      from: '2024-03-01',
      to: '2024-03-04',
      maxPoints: 100,
    });
    expect(h.series).toHaveLength(2);
    expect(h.series[0]!.t.length).toBeLessThanOrEqual(100);
    expect(h.series[0]!.unit).toBe('%');
    const snap = await client.cells.snapshot.query({ deviceId: DEVICE, at: '2024-03-02T12:00:00Z' });
    expect(snap.cells).toHaveLength(260);
    expect(snap.cells.filter((c) => c.voltage !== null).length).toBe(260);
    await expect(
      client.cells.snapshot.query({ deviceId: 'ZHPESS232A230003', at: '2024-03-02T12:00:00Z' }),
    ).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
  });
});

describe('subscriptions', () => {
  it('streams records over WebSocket at the requested interval, in order', async () => {
    const got: { id: string; timestamp: string }[] = [];
    const sub = client.pcs.stream.subscribe(
      { deviceId: DEVICE, interval: 0.1 },
      { onData: (e) => got.push({ id: e.id, timestamp: e.data.timestamp }) },
    );
    await eventually(() => got.length >= 5);
    sub.unsubscribe();
    const first = (await client.pcs.batch.query({ deviceId: DEVICE, batchSize: 5, skip: 0 })).records;
    expect(got.slice(0, 5).map((g) => g.timestamp)).toEqual(first.map((r) => r.timestamp));
    expect(got.map((g) => g.id)).toEqual(got.map((g) => g.timestamp));
    expect(new Set(got.map((g) => g.timestamp)).size).toBe(got.length);
    expect([...got.map((g) => g.timestamp)].sort()).toEqual(got.map((g) => g.timestamp));
  });

  it('streams over SSE too (httpSubscriptionLink)', async () => {
    const sse = createBessClient({ url: server.url, transport: 'sse', EventSource });
    const got: string[] = [];
    const sub = sse.api.bms.stream.subscribe(
      { deviceId: DEVICE, interval: 0.1, from: '2024-03-02T00:00:00Z' },
      { onData: (e) => got.push(e.data.timestamp) },
    );
    await eventually(() => got.length >= 3);
    sub.unsubscribe();
    expect(got.slice(0, 3)).toEqual(['2024-03-02T00:00:00Z', '2024-03-02T00:01:00Z', '2024-03-02T00:02:00Z']);
  });

  it('resumes after a dropped connection from the last event, not from the start', async () => {
    const first: string[] = [];
    const a = client.bms.stream.subscribe({ deviceId: DEVICE, interval: 0.1 }, { onData: (e) => first.push(e.id) });
    await eventually(() => first.length >= 4);
    a.unsubscribe();
    const lastSeen = first.at(-1)!;
    // A client reconnecting sends lastEventId; the stream continues right after it.
    const resumed: string[] = [];
    const b = client.bms.stream.subscribe(
      { deviceId: DEVICE, interval: 0.1, lastEventId: lastSeen },
      { onData: (e) => resumed.push(e.id) },
    );
    await eventually(() => resumed.length >= 2);
    b.unsubscribe();
    expect(Date.parse(resumed[0]!)).toBe(Date.parse(lastSeen) + 60_000);
  });

  it('shares one reader among subscribers of the same stream and leaves nothing running after they leave', async () => {
    const counts = [0, 0, 0];
    const subs = counts.map((_, i) =>
      client.pcs.stream.subscribe({ deviceId: 'ZHPESS232A230007', interval: 0.2 }, { onData: () => counts[i]!++ }),
    );
    await eventually(() => counts.every((c) => c >= 2));
    expect(server.hub.stats().readers).toBe(1);
    expect(server.hub.stats().subscribers).toBe(3);
    subs.forEach((s) => s.unsubscribe());
    await eventually(() => server.hub.stats().readers === 0 && server.hub.stats().subscribers === 0);
  });

  it('cleans up when a WebSocket client vanishes without unsubscribing', async () => {
    const vanishing = createBessClient({ url: server.url, WebSocket });
    let n = 0;
    vanishing.api.bms.stream.subscribe({ deviceId: 'ZHPESS232A230003', interval: 0.1 }, { onData: () => n++ });
    await eventually(() => n >= 2);
    expect(server.hub.stats().subscribers).toBe(1);
    vanishing.close();
    await eventually(() => server.hub.stats().readers === 0);
  });
});

describe('prototype REST surface', () => {
  it('serves the info, device lists and batches in the seed’s shape', async () => {
    const info = JSON.parse((await get('/')).body) as { endpoints: { path: string }[] };
    expect(info.endpoints.map((e) => e.path)).toContain('/bms/{device_id}/stream');
    for (const kind of ['bms', 'pcs']) {
      const devices = JSON.parse((await get(`/${kind}/devices`)).body) as { devices: string[] };
      expect(devices.devices).toContain(DEVICE);
      const page = JSON.parse((await get(`/${kind}/${DEVICE}?batch_size=10&skip=0`)).body) as RestPage;
      expect(page).toMatchObject({ device_id: DEVICE, batch_size: 10, skip: 0 });
      expect(page.data).toHaveLength(10);
      expect(page.total_records).toBeGreaterThan(1000);
    }
  });

  it('gives 404 for unknown devices and 422 for invalid parameters, never 500', async () => {
    expect((await get('/bms/NOPE?batch_size=10')).status).toBe(404);
    for (const path of [
      '/bms/ZHPESS232A230002?batch_size=0',
      '/bms/ZHPESS232A230002?batch_size=abc',
      '/pcs/ZHPESS232A230002?skip=-5',
      '/bms/ZHPESS232A230002/stream?interval=50',
      '/bms/ZHPESS232A230002?from=yesterday',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(422);
      expect((JSON.parse(res.body) as { detail: { loc: string[] }[] }).detail[0]?.loc[0]).toBe('query');
    }
    for (const path of [
      '/bms/..%2F..%2Fetc',
      '/bms/%2e%2e/%2e%2e/etc/passwd',
      '/bms/%2Fetc%2Fpasswd',
      '/bms/a%00b',
      '/..%2f..%2fetc%2fpasswd',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBeLessThan(500);
      expect(res.body, path).not.toContain('root:');
    }
    expect((await get('/bms/..%2F..%2Fetc')).status).toBe(422);
  });

  it('streams SSE to a plain HTTP client, one data: record per event', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(`${server.url}/pcs/${DEVICE}/stream?interval=0.1`, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
          if (body.split('data: ').length > 3) {
            req.destroy();
            resolve(body);
          }
        });
      });
      req.on('error', (e) =>
        e.message.includes('aborted') || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e),
      );
      req.end();
    });
    const events = text.split('\n\n').filter((e) => e.includes('data: '));
    const first = (await client.pcs.batch.query({ deviceId: DEVICE, batchSize: 1, skip: 0 })).records[0]!;
    expect(JSON.parse(events[0]!.split('data: ')[1]!)).toEqual(first);
    await eventually(() => server.hub.stats().readers === 0);
  });

  it('exports a range as CSV with a header and one row per record', async () => {
    const res = await get(`/pcs/${DEVICE}/export.csv?from=2024-03-01T10:00:00Z&to=2024-03-01T11:00:00Z`);
    expect(res.status).toBe(200);
    const lines = res.body.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'timestamp,apparent_power,dc_current,dc_voltage,ac_current_a,ac_current_b,ac_current_c,ac_voltage_ab,ac_voltage_bc,ac_voltage_ca,temp_environment,temp_ambient,temp_igbt',
    );
    expect(lines).toHaveLength(1 + 121);
    expect(lines[1]!.startsWith('2024-03-01T10:00:00Z,')).toBe(true);
  });

  it('takes epoch milliseconds for from and to, as it documents', async () => {
    const from = Date.UTC(2024, 2, 1, 10);
    const res = await get(`/pcs/${DEVICE}/export.csv?from=${from}&to=${from + 3_600_000}`);
    expect(res.status).toBe(200);
    expect(res.body.trimEnd().split('\n')).toHaveLength(1 + 121);
    const page = JSON.parse((await get(`/bms/${DEVICE}?from=${from}&batch_size=1`)).body) as RestPage;
    expect(String(page.data[0]?.timestamp) >= '2024-03-01T10:00:00Z').toBe(true);
  });

  it('publishes an OpenAPI document and Swagger UI, and health', async () => {
    const doc = JSON.parse((await get('/openapi.json')).body) as {
      paths: Record<string, { get: { parameters: { name: string }[] } }>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/bms/{device_id}', '/pcs/{device_id}/stream', '/bms/{device_id}/export.csv']),
    );
    const params = doc.paths['/bms/{device_id}']?.get.parameters.map((p) => p.name);
    expect(params).toEqual(expect.arrayContaining(['device_id', 'batch_size', 'skip', 'from', 'to', 'step']));
    // Each operation is named once, and says which key it needs (the probes none).
    const full = JSON.parse((await get('/openapi.json')).body) as {
      servers: unknown[];
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { operationId: string; security: Record<string, string[]>[] }>>;
    };
    const ops = Object.entries(full.paths).flatMap(([path, item]) => Object.values(item).map((op) => ({ path, op })));
    expect(new Set(ops.map(({ op }) => op.operationId)).size).toBe(ops.length);
    expect(Object.keys(full.components.securitySchemes).sort()).toEqual(['apiKeyHeader', 'apiKeyQuery', 'bearer']);
    for (const { path, op } of ops)
      expect(op.security.length, path).toBe(path === '/health' || path === '/ready' ? 0 : 3);
    expect(full.servers).toHaveLength(1);
    expect((await get('/docs')).body).toContain('swagger-ui');
    expect((await get('/docs/swagger-ui-bundle.js')).status).toBe(200);
    expect((JSON.parse((await get('/health')).body) as { status: string }).status).toBe('ok');
  });
});

describe('metrics', () => {
  it('count requests and time them by route template and status class', async () => {
    await get('/bms/devices');
    await get(`/bms/${DEVICE}?batch_size=2`);
    await get('/bms/NO_SUCH_DEVICE');
    await get('/no/such/page');
    const text = (await get('/metrics')).body;
    expect(text).toContain('bess_http_requests_total{route="/bms/devices",status="2xx"}');
    expect(text).toMatch(/bess_http_requests_total\{route="\/bms\/\{device_id\}",status="4xx"\} [1-9]/);
    expect(text).toContain('bess_query_duration_seconds_count{route="http:/bms/{device_id}"}');
    expect(text).not.toContain('NO_SUCH_DEVICE');
    // Series exist from start-up, at zero until their first event.
    expect(text).toContain('bess_rate_limited_total{kind="heavy_server"} 0');
    expect(text).toContain('bess_stream_events_dropped_total{reason="client_cut_off"} 0');
    expect(text).toContain('bess_http_requests_total{route="/alarms/{id}/shelve",status="5xx"} 0');
    expect(text).toContain('bess_query_duration_seconds_count{route="trpc:alarms.notifications"} 0');
    expect(text).toMatch(/^bess_stream_send_lateness_seconds_count \d+$/m);
  });

  it('time SSE streams to their first event, and pass promtool check metrics', async () => {
    const stream = await fetch(`${server.url}/pcs/${DEVICE}/stream?interval=0.1`);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('data:')) text += (await reader.read()).value ?? '';
    await reader.cancel();
    await client.bms.devices.query();
    const metrics = (await get('/metrics')).body;
    expect(metrics).toMatch(/bess_query_duration_seconds_count\{route="sse:\/pcs\/\{device_id\}\/stream"\} [1-9]/);
    expect(metrics).toMatch(/bess_query_duration_seconds_count\{route="trpc:bms.devices"\} [1-9]/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    expect(promtool.error, 'promtool (Debian prometheus; scripts/ensure-promtool.sh)').toBeUndefined();
    expect(`${promtool.stdout}${promtool.stderr}`).toBe('');
    expect(promtool.status).toBe(0);
  });
});

describe('the prototype’s date filter', () => {
  it('keeps a UTC day or month on /bms and /pcs, and refuses dates that do not exist', async () => {
    for (const kind of ['bms', 'pcs']) {
      const day = JSON.parse((await get(`/${kind}/${DEVICE}?date=2024-03-02&batch_size=1000`)).body) as RestPage;
      expect(day.total_records).toBeGreaterThan(100);
      expect(day.data.every((r) => String(r.timestamp).startsWith('2024-03-02'))).toBe(true);
      const month = JSON.parse((await get(`/${kind}/${DEVICE}?date=2024-03&batch_size=1`)).body) as RestPage;
      expect(month.total_records).toBeGreaterThan(day.total_records);
    }
    for (const bad of ['2024-02-30', '2024-3', '2024-13', 'yesterday'])
      expect((await get(`/bms/${DEVICE}?date=${bad}`)).status, bad).toBe(422);
    const none = await get(`/bms/${DEVICE}?date=2024-03-02&from=2024-03-05T00:00:00Z`);
    expect(none.status).toBe(422);
  });
});

describe('the prototype’s /bess surface', () => {
  it('lists devices, pages merged records by date, and streams them as its clients read them', async () => {
    const devices = JSON.parse((await get('/bess/devices')).body) as {
      devices: { device_id: string; available_metrics: string[]; total_rows_per_metric: Record<string, number> }[];
    };
    const one = devices.devices.find((d) => d.device_id === DEVICE)!;
    expect(one.available_metrics).toEqual(expect.arrayContaining(['bms_soc', 'pcs_apparent_power']));
    expect(one.total_rows_per_metric.bms_soc).toBeGreaterThan(1000);
    const page = JSON.parse((await get(`/bess/${DEVICE}?batch_size=5&skip=0&date=2024-03-02`)).body) as RestPage;
    expect(page.data).toHaveLength(5);
    const first = page.data[0]!;
    expect(String(first.timestamp).startsWith('2024-03-02')).toBe(true);
    // What its dashboard's cards read, every subsystem: BMS, PCS, auxiliary, environment, safety.
    for (const field of [
      'bms_soc',
      'bms_soh',
      'bms_voltage',
      'bms_current',
      'bms_cell_avg_temp',
      'pcs_apparent_power',
      'pcs_dc_voltage',
      'pcs_ac_current_a',
      'pcs_temp_igbt',
      'aux_outside_temp',
      'aux_outwater_temp',
      'aux_return_water_pressure',
      'env_humidity',
      'env_temperature',
    ])
      expect(typeof first[field], field).toBe('number');
    expect(typeof first.safety_smoke_flag).toBe('boolean');
    // Its stream: `data: {json}` events over EventSource, one merged record each.
    const events = await new Promise<string[]>((resolve, reject) => {
      const got: string[] = [];
      const req = httpGet(`${server.url}/bess/${DEVICE}/stream?interval=0.1&date=2024-03-02`, (res) => {
        expect(res.headers['content-type']).toContain('text/event-stream');
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
            const data = buffer
              .slice(0, i)
              .split('\n')
              .find((l) => l.startsWith('data: '));
            buffer = buffer.slice(i + 2);
            if (data) got.push(data.slice(6));
            if (got.length === 3) {
              req.destroy();
              resolve(got);
            }
          }
        });
      });
      req.on('error', (e: Error) => (got.length >= 3 ? undefined : reject(e)));
    });
    const records = events.map((e) => JSON.parse(e) as Record<string, unknown>);
    expect(records.map((r) => r.timestamp)).toEqual([
      '2024-03-02T00:00:00Z',
      '2024-03-02T00:01:00Z',
      '2024-03-02T00:02:00Z',
    ]);
    expect(typeof records[0]!.pcs_apparent_power).toBe('number');
    expect((await get('/bess/NO_SUCH_DEVICE')).status).toBe(404);
    expect((await get(`/bess/${DEVICE}?date=2024-02-30`)).status).toBe(422);
  });
});
