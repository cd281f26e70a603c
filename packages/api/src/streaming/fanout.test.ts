import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Writable } from 'node:stream';
import WebSocket, * as wsModule from 'ws';
import type { BessDataset } from '@bess/core';
import { FANOUT_CHUNK } from './fanout-queue.js';
import { StreamHub, SUBSCRIBER_QUEUE, type StreamEvent, type StreamRequest } from './hub.js';
import { eventually, startSampleServer } from '../test-support/server.js';
import type { BessServer } from '../server.js';
import { textFrame } from './ws-direct.js';
import { streamEventEncoder } from './ws-encoder.js';

/** ws's frame parser (exported by ws, not declared by @types/ws). */
const { Receiver } = wsModule as unknown as { Receiver: new (options: { isServer: boolean }) => Writable };

let server: BessServer;
let dataset: BessDataset;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ server, dataset, stop } = await startSampleServer());
});
afterAll(async () => {
  await stop();
});

const replay = (intervalMs: number): StreamRequest => ({
  kind: 'bms',
  deviceId: 'ZHPESS232A230002',
  intervalMs,
  stepMs: 30_000,
  start: { position: 0 },
});

/** What tRPC's WebSocket adapter hands its encoder for a tracked event (see its transformTRPCResponse). */
const trackedMessage = (requestId: unknown, event: StreamEvent, jsonrpc?: string) => ({
  id: requestId,
  jsonrpc,
  result: { type: 'data' as const, data: { id: event.id, data: event.record }, id: event.id },
});

describe('fan-out: one broadcast, one serialisation', () => {
  it('hands every subscriber the same event, and the encoder writes exactly what JSON.stringify would, serialising the record once', async () => {
    const hub = new StreamHub(dataset);
    const subs = [hub.subscribe(replay(5)), hub.subscribe(replay(5)), hub.subscribe(replay(5))];
    const events = await Promise.all(subs.map((s) => s.next()));
    const event = events[0]!;
    expect(events.every((e) => e === event)).toBe(true);
    expect(hub.tags.eventOf(event.record)).toBe(event);

    const lateness: number[] = [];
    const encoder = streamEventEncoder(hub.tags, (e) => lateness.push(performance.now() - e.dueAt));
    const stringify = vi.spyOn(JSON, 'stringify');
    const frames = [trackedMessage(1, event), trackedMessage('abc', event, '2.0'), trackedMessage(7, event)].map((m) =>
      encoder.encode(m),
    );
    const recordSerialisations = stringify.mock.calls.filter(([value]) => value === event.record).length;
    stringify.mockRestore();
    expect(recordSerialisations).toBe(1);
    expect(frames).toEqual(
      [trackedMessage(1, event), trackedMessage('abc', event, '2.0'), trackedMessage(7, event)].map((m) =>
        JSON.stringify(m),
      ),
    );
    expect(lateness).toHaveLength(3);
    expect(lateness.every((ms) => ms >= 0)).toBe(true);
    // the JSON is the broadcast's, reused: not re-serialised per subscriber
    (event.record as unknown as Record<string, unknown>).probe = 1;
    expect(encoder.encode(trackedMessage(8, event))).not.toContain('probe');
    delete (event.record as unknown as Record<string, unknown>).probe;

    // anything else is the default JSON encoding
    const plain = { id: 3, result: { type: 'data', data: { id: event.id, data: { ...event.record } }, id: event.id } };
    expect(encoder.encode(plain)).toBe(JSON.stringify(plain));
    const extraKey = { ...trackedMessage(4, event), extra: true };
    expect(encoder.encode(extraKey)).toBe(JSON.stringify(extraKey));
    expect(encoder.encode({ id: 5, result: { type: 'started' } })).toBe('{"id":5,"result":{"type":"started"}}');
    expect(lateness).toHaveLength(4);
    subs.forEach((s) => s.close());
    expect(hub.stats()).toMatchObject({ readers: 0, subscribers: 0 });
  });

  it('gives each broadcast its own record object, so an event is never mistaken for another', async () => {
    const hub = new StreamHub(dataset);
    const fast = hub.subscribe(replay(5));
    const slow = hub.subscribe({ ...replay(7) });
    const [a, b] = [await fast.next(), await slow.next()];
    expect(a!.id).toBe(b!.id); // the same record...
    expect(a!.record).not.toBe(b!.record); // ...from two readers: two objects, two events
    expect(hub.tags.eventOf(a!.record)).toBe(a);
    expect(hub.tags.eventOf(b!.record)).toBe(b);
    fast.close();
    slow.close();
  });

  it('hands a broadcast to many subscribers a chunk per event-loop turn, every event to every subscriber, in order', async () => {
    const hub = new StreamHub(dataset);
    const n = FANOUT_CHUNK * 2 + 37;
    const subs = Array.from({ length: n }, () => hub.subscribe(replay(10)));
    // the first event: the first chunk has it at once, the rest only after other macrotasks have had a turn
    let otherWork = false;
    setImmediate(() => (otherWork = true));
    const firsts = await Promise.all(subs.map((s) => s.next()));
    expect(otherWork).toBe(true);
    expect(new Set(firsts).size).toBe(1);
    const seen = await Promise.all(
      subs.map(async (s) => {
        const ids = [firsts[0]!.id];
        for (let i = 0; i < 5; i++) ids.push((await s.next())!.id);
        return ids;
      }),
    );
    for (const ids of seen) expect(ids).toEqual(seen[0]);
    expect(new Set(seen[0]).size).toBe(6);
    expect([...seen[0]!].sort()).toEqual(seen[0]); // record times ascending
    expect(hub.stats().dropped).toBe(0);
    subs.forEach((s) => s.close());
    expect(hub.stats()).toMatchObject({ readers: 0, subscribers: 0 });
  });

  it('hands out the earliest broadcast to all its subscribers before the next stream’s, so no subscriber’s turn moves between events', async () => {
    const hub = new StreamHub(dataset);
    const n = FANOUT_CHUNK * 2 + 50;
    // two streams (two readers) whose events fall due at the same moments
    const streams = [replay(20), { ...replay(20), stepMs: 60_000 }];
    const subs = streams.flatMap((request, stream) =>
      Array.from({ length: n }, () => ({ stream, sub: hub.subscribe(request) })),
    );
    const order: number[][] = [[], [], []];
    await Promise.all(
      subs.map(async ({ stream, sub }) => {
        for (let k = 0; k < 3; k++) {
          await sub.next();
          order[k]!.push(stream);
        }
      }),
    );
    for (const got of order) {
      expect(got).toHaveLength(2 * n);
      // one stream's subscribers all before the other's: the sequence changes stream once
      expect(got.filter((stream, i) => i > 0 && stream !== got[i - 1]).length).toBe(1);
    }
    subs.forEach(({ sub }) => sub.close());
    expect(hub.stats()).toMatchObject({ readers: 0, subscribers: 0 });
  });

  it('never lets undelivered broadcasts pile up: a reader far behind loses its oldest (counted), order kept', async () => {
    const hub = new StreamHub(dataset);
    // 50 event-loop turns to hand one event to all of them, and an event due every 1 ms.
    const subs = Array.from({ length: FANOUT_CHUNK * 50 }, () => hub.subscribe(replay(1)));
    // Every subscriber reads as fast as events come, so none of their own queues overflows:
    // a drop can only be the reader's backlog of undelivered broadcasts.
    const received = subs.map(() => [] as string[]);
    const readers = subs.map(async (s, i) => {
      for (let e = await s.next(); e; e = await s.next()) received[i]!.push(e.id);
    });
    await eventually(() => hub.stats().dropped > 0, 10_000);
    subs.forEach((s) => s.close());
    await Promise.all(readers);
    expect(subs.every((s, i) => received[i]!.length + s.dropped > 0)).toBe(true);
    expect(subs.some((s) => s.dropped > 0)).toBe(true);
    for (const ids of received) expect([...ids].sort()).toEqual(ids); // still in order, no repeats
    for (const ids of received) expect(new Set(ids).size).toBe(ids.length);
    expect(hub.stats()).toMatchObject({ readers: 0, subscribers: 0 });
    expect(Math.max(...received.map((r) => r.length))).toBeGreaterThan(0);
    expect(SUBSCRIBER_QUEUE).toBeGreaterThan(0);
  });

  it('listens to a subscription’s abort signal once, not once per event, and wakes a waiting reader on abort', async () => {
    const hub = new StreamHub(dataset);
    const sub = hub.subscribe(replay(2));
    const abort = new AbortController();
    for (let i = 0; i < 20; i++) expect(await sub.next(abort.signal)).not.toBeNull();
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(1);
    const pending = sub.next(abort.signal);
    abort.abort();
    // aborted: the reader gets null at once, or the event that was already queued
    const last = await pending;
    expect(last === null || typeof last.id === 'string').toBe(true);
    expect(await sub.next(abort.signal)).toBeNull();
    sub.close();
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
    expect(hub.stats()).toMatchObject({ readers: 0, subscribers: 0 });
  });

  it('sends WebSocket subscribers the encoded events (counted in the send-lateness histogram), readable by any JSON client', async () => {
    const before =
      server.metrics.streamSendLateness.lines().find((l) => l.startsWith('bess_stream_send_lateness_seconds_count')) ??
      '0';
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/trpc`);
    await new Promise((resolve) => ws.once('open', resolve));
    const frames: string[] = [];
    ws.on('message', (data: Buffer) => frames.push(data.toString()));
    ws.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'bms.stream', input: { deviceId: 'ZHPESS232A230002', interval: 0.1 } },
      }),
    );
    await eventually(() => frames.length >= 4);
    ws.close();
    const events = frames.map(
      (f) =>
        JSON.parse(f) as {
          id: number;
          result: { type: string; id?: string; data?: { id: string; data: { timestamp: string } } };
        },
    );
    expect(events[0]).toEqual({ id: 1, result: { type: 'started' } });
    for (const [i, e] of events.slice(1, 4).entries()) {
      expect(e.result.type).toBe('data');
      expect(e.result.id).toBe(e.result.data!.id);
      expect(e.result.data!.data.timestamp).toBe(e.result.id);
      expect(JSON.stringify(e)).toBe(frames[i + 1]);
    }
    const after = server.metrics.streamSendLateness
      .lines()
      .find((l) => l.startsWith('bess_stream_send_lateness_seconds_count'))!;
    expect(Number(after.split(' ').at(-1))).toBeGreaterThan(Number(before.split(' ').at(-1)));
  });

  it.each([
    ['as prebuilt frames after the first', true],
    ['all through tRPC with direct frames off', false],
  ])(
    'writes a WebSocket subscription’s events %s: the same bytes, every record in order, nothing after "stopped"',
    async (_, directFrames) => {
      const other = directFrames ? null : await startSampleServer({ directFrames });
      const target = other?.server ?? server;
      const ws = new WebSocket(`${target.url.replace('http', 'ws')}/trpc`);
      await new Promise((resolve) => ws.once('open', resolve));
      const frames: string[] = [];
      ws.on('message', (data: Buffer) => frames.push(data.toString()));
      const input = { deviceId: 'ZHPESS232A230002', interval: 0.1 };
      // a string request id and a JSON-RPC version: the envelope the direct frames must repeat
      ws.send(
        JSON.stringify({ id: 'a"b', jsonrpc: '2.0', method: 'subscription', params: { path: 'bms.stream', input } }),
      );
      await eventually(() => frames.length >= 16);
      expect(target.hub.stats()).toMatchObject({ subscribers: 1, direct: directFrames ? 1 : 0 });
      ws.send(JSON.stringify({ id: 'a"b', jsonrpc: '2.0', method: 'subscription.stop' }));
      await eventually(() => frames.some((f) => f.includes('"stopped"')));
      await new Promise((r) => setTimeout(r, 100)); // anything written after the stop would arrive in this time
      ws.close();

      const expected = await dataset.page('ZHPESS232A230002', 'bms', {
        skip: 0,
        limit: frames.length,
        stepMs: dataset.defaultStepMs('ZHPESS232A230002', 'bms'),
      });
      expect(frames[0]).toBe('{"id":"a\\"b","jsonrpc":"2.0","result":{"type":"started"}}');
      expect(frames.at(-1)).toBe('{"id":"a\\"b","jsonrpc":"2.0","result":{"type":"stopped"}}');
      const data = frames.slice(1, -1);
      expect(data.length).toBeGreaterThanOrEqual(15);
      data.forEach((frame, i) => {
        const record = expected.records[i]!;
        expect(frame).toBe(
          JSON.stringify({
            id: 'a"b',
            jsonrpc: '2.0',
            result: { type: 'data', data: { id: record.timestamp, data: record }, id: record.timestamp },
          }),
        );
      });
      await eventually(() => target.hub.stats().subscribers === 0);
      await other?.stop();
    },
  );

  it('frames text as RFC 6455 says, at every length encoding (7-bit, 16-bit, 64-bit)', async () => {
    for (const text of ['{"a":1}', 'é'.repeat(100), 'x'.repeat(65_535), '€'.repeat(30_000)]) {
      const receiver = new Receiver({ isServer: false });
      const messages: string[] = [];
      receiver.on('message', (data: Buffer, isBinary: boolean) =>
        messages.push(isBinary ? '<binary>' : data.toString()),
      );
      await new Promise<void>((resolve, reject) =>
        receiver.write(textFrame(text), (error?: Error | null) => (error ? reject(error) : resolve())),
      );
      expect(messages).toEqual([text]);
    }
  });
});
