import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { BessDataset } from '@bess/core';
import { broadcastEventOf, StreamHub, type StreamEvent, type StreamRequest } from './stream.js';
import { eventually, startSampleServer } from './test-support/server.js';
import type { BessServer } from './server.js';
import { streamEventEncoder } from './ws-encoder.js';

let server: BessServer;
let dataset: BessDataset;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ server, dataset, stop } = await startSampleServer());
});
afterAll(async () => {
  await stop();
});

const replay = (intervalMs: number): StreamRequest => ({ kind: 'bms', deviceId: 'ZHPESS232A230002', intervalMs, stepMs: 30_000, start: { position: 0 } });

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
    expect(broadcastEventOf(event.record)).toBe(event);

    const lateness: number[] = [];
    const encoder = streamEventEncoder((ms) => lateness.push(ms));
    const stringify = vi.spyOn(JSON, 'stringify');
    const frames = [trackedMessage(1, event), trackedMessage('abc', event, '2.0'), trackedMessage(7, event)].map((m) => encoder.encode(m));
    const recordSerialisations = stringify.mock.calls.filter(([value]) => value === event.record).length;
    stringify.mockRestore();
    expect(recordSerialisations).toBe(1);
    expect(frames).toEqual([trackedMessage(1, event), trackedMessage('abc', event, '2.0'), trackedMessage(7, event)].map((m) => JSON.stringify(m)));
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
    expect(broadcastEventOf(a!.record)).toBe(a);
    expect(broadcastEventOf(b!.record)).toBe(b);
    fast.close();
    slow.close();
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
    const before = server.metrics.streamSendLateness.lines().find((l) => l.startsWith('bess_stream_send_lateness_seconds_count')) ?? '0';
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/trpc`);
    await new Promise((resolve) => ws.once('open', resolve));
    const frames: string[] = [];
    ws.on('message', (data: Buffer) => frames.push(data.toString()));
    ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'bms.stream', input: { deviceId: 'ZHPESS232A230002', interval: 0.1 } } }));
    await eventually(() => frames.length >= 4);
    ws.close();
    const events = frames.map((f) => JSON.parse(f) as { id: number; result: { type: string; id?: string; data?: { id: string; data: { timestamp: string } } } });
    expect(events[0]).toEqual({ id: 1, result: { type: 'started' } });
    for (const [i, e] of events.slice(1, 4).entries()) {
      expect(e.result.type).toBe('data');
      expect(e.result.id).toBe(e.result.data!.id);
      expect(e.result.data!.data.timestamp).toBe(e.result.id);
      expect(JSON.stringify(e)).toBe(frames[i + 1]);
    }
    const after = server.metrics.streamSendLateness.lines().find((l) => l.startsWith('bess_stream_send_lateness_seconds_count'))!;
    expect(Number(after.split(' ').at(-1))).toBeGreaterThan(Number(before.split(' ').at(-1)));
  });
});
