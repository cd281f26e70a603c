import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { openDataset, type AlignedRecord } from '@bess/core';
import * as wsModule from 'ws';
import { WebSocketServer } from 'ws';

/**
 * The fan-out floor: the least a Node process can do to deliver what the product's `bms.stream`
 * delivers, measured by the same load generator (fanout.ts with FANOUT_SERVER pointing here).
 * It is a yardstick for the machine, not a product path: no tRPC, no metrics, no keep-alive,
 * no chunking, no slow-client care. Each device's records (the real ones, so frames have the
 * real size) are replayed on one timer; each event's frame is built once and written to every
 * subscriber's socket in one synchronous loop. What remains is Node's socket write and the
 * kernel's loopback TCP path, which is what bounds a one-process server on this machine.
 *
 * Speaks only what fanout.ts uses: GET /health, GET /trpc/bms.devices, and WebSocket
 * subscriptions `{id, method: 'subscription', params: {input: {deviceId, interval}}}`, answered
 * with tRPC's `started` and data messages, byte for byte as the product writes them.
 */
const dataset = await openDataset(process.env.DATA_DIR!);
const deviceIds = dataset.devices().map((d) => d.id);

interface Stream {
  sockets: Duplex[];
  requestIds: unknown[];
  timer: NodeJS.Timeout | null;
}
const streams = new Map<string, Stream>();

const http = createServer((req, res) => {
  if (req.url === '/health') return void res.end('ok');
  if (req.url === '/trpc/bms.devices')
    return void res.end(JSON.stringify({ result: { data: deviceIds.map((id) => ({ id })) } }));
  res.statusCode = 404;
  res.end(); // /metrics too: the floor has no send-lateness histogram
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
http.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data) => {
      const request = JSON.parse((data as Buffer).toString()) as {
        id: unknown;
        params: { input: { deviceId: string; interval: number } };
      };
      const { deviceId, interval } = request.params.input;
      ws.send(JSON.stringify({ id: request.id, result: { type: 'started' } }));
      let stream = streams.get(deviceId);
      if (!stream) streams.set(deviceId, (stream = { sockets: [], requestIds: [], timer: null }));
      stream.sockets.push(socket);
      stream.requestIds.push(request.id);
      if (!stream.timer) replay(deviceId, stream, interval * 1000);
    });
  });
});
http.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');

/** Tick n is due at start + n x interval, as the product's replay schedules it; records are read 100 at a time, as its reader does. */
function replay(deviceId: string, stream: Stream, intervalMs: number): void {
  const started = performance.now();
  let records: AlignedRecord[] = [];
  let tick = 0;
  const next = async (): Promise<void> => {
    if (tick % 100 === 0) records = (await dataset.page(deviceId, 'bms', { skip: tick, limit: 100 })).records;
    send(stream, records[tick % 100]!);
    tick++;
    stream.timer = setTimeout(() => void next(), Math.max(0, started + tick * intervalMs - performance.now()));
  };
  stream.timer = setTimeout(() => void next(), intervalMs);
}

/** One unmasked text frame, framed by ws itself (its Sender.frame), as the least a server does per message. */
function textFrame(text: string): Buffer {
  // ws exports Sender at run time; @types/ws does not declare its static framer.
  const { frame } = (wsModule as unknown as { Sender: unknown }).Sender as {
    frame(
      this: void,
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
  return Buffer.concat(frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
}

function send(stream: Stream, record: AlignedRecord): void {
  const id = JSON.stringify(record.timestamp);
  const json = JSON.stringify(record);
  const frames = new Map<unknown, Buffer>();
  for (let i = 0; i < stream.sockets.length; i++) {
    const requestId = stream.requestIds[i];
    let frame = frames.get(requestId);
    if (!frame) {
      frame = textFrame(
        `{"id":${JSON.stringify(requestId)},"result":{"type":"data","data":{"id":${id},"data":${json}},"id":${id}}}`,
      );
      frames.set(requestId, frame);
    }
    const socket = stream.sockets[i]!;
    if (!socket.destroyed) socket.write(frame);
  }
}
