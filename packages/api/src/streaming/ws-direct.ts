import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { DirectSink, StreamEvent } from './hub.js';
import { streamMessageText } from './ws-encoder.js';

/**
 * The fast path of a WebSocket stream subscription: once tRPC has sent a subscription's first
 * event, the server knows the exact text of every later one (the envelope never changes, the
 * record is the broadcast's). From then on each event goes to the socket as one prebuilt frame,
 * shared by every subscriber with the same envelope, instead of through tRPC's per-message
 * chain (a generator step, promises, response transform, encoder, framing): that chain cost
 * about 50 µs of CPU and 4 KB of garbage per subscriber per event, which for 5,000
 * subscribers is most of a core. The bytes on the wire are the same (a test compares them).
 */

/**
 * One connection's direct writer. `socket` is the raw TCP socket under `ws` (from the HTTP
 * upgrade). Writing whole frames to it beside `ws` is safe because `ws` writes each of its own
 * frames in one go, unless it is compressing (permessage-deflate, which this server does not
 * negotiate; checked here) or converting a Blob (the server sends none).
 */
export class WsConnection {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    /** Told of every event written, after the write (metrics). */
    private readonly onSend: (event: StreamEvent) => void,
    /** Off: every event goes through tRPC's path (the same bytes, more CPU). */
    private readonly directFrames = true,
  ) {}

  /** Closes the connection for a policy violation (a client that floods the server with calls). */
  closeForPolicy(reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1008, reason);
  }

  /** A sink for the subscription whose messages start with `head`, or null when frames cannot be written directly. */
  sink(head: string, onSend?: (event: StreamEvent) => void): DirectSink | null {
    if (!this.directFrames || this.ws.extensions !== '') return null;
    const { ws, socket } = this;
    return {
      send: (event) => {
        if (ws.readyState !== WebSocket.OPEN || socket.destroyed) return;
        socket.write(frameOf(event, head));
        this.onSend(event);
        onSend?.(event);
      },
    };
  }
}

/** The event's frame for one envelope, built on first use and shared by every subscriber with that envelope. */
function frameOf(event: StreamEvent, head: string): Buffer {
  let frame = event.frames.get(head);
  if (!frame) {
    frame = textFrame(streamMessageText(head, event));
    event.frames.set(head, frame);
  }
  return frame;
}

/** A final, unmasked text frame (RFC 6455 §5.2), as a server sends one. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, header, 'utf8');
  return frame;
}
