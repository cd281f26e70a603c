import type { BroadcastTags } from './broadcast-tags.js';
import type { StreamEvent } from './hub.js';

/** tRPC's WebSocket encoder interface (`experimental_encoder` of applyWSSHandler). */
export interface WsEncoder {
  encode(data: unknown): string;
  decode(data: string | ArrayBuffer | Uint8Array): unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * tRPC's default JSON encoder, except for stream events: a broadcast to 5,000 subscribers
 * used to serialise the same record 5,000 times. A data message whose payload is a broadcast
 * record (tagged in the hub's `BroadcastTags`) is assembled from the record's JSON, serialised once per
 * broadcast, and the envelope's few small fields. The text is exactly what
 * `JSON.stringify` would produce (same keys, same order), so clients see no difference;
 * anything not of that shape goes through `JSON.stringify` as before.
 *
 * A subscription that asked to learn its envelope (its record is a copy it handed out, see
 * `Subscription.recordFor`) is told the message's head here, so it can write later events
 * itself (ws-direct.ts).
 *
 * `onStreamSend` is told of each stream event handed to a socket (send-lateness metrics).
 */
export function streamEventEncoder(tags: BroadcastTags, onStreamSend?: (event: StreamEvent) => void): WsEncoder {
  return {
    encode(message) {
      const hit = streamMessage(message, tags);
      if (!hit) return JSON.stringify(message);
      const { message: m, event } = hit;
      onStreamSend?.(event);
      const head = envelopeHead(m);
      tags.learnerOf(m.result.data.data)?.learnEnvelope(head);
      return streamMessageText(head, event);
    },
    decode(data) {
      if (typeof data !== 'string') throw new Error('this server speaks JSON in text frames');
      return JSON.parse(data) as unknown;
    },
  };
}

interface StreamMessage {
  id: unknown;
  jsonrpc?: unknown;
  result: { type: 'data'; data: { id: string; data: unknown }; id: string };
}

/** A tracked data message `{id, jsonrpc?, result: {type: 'data', data: {id, data: <record>}, id}}` carrying a broadcast record. */
function streamMessage(message: unknown, tags: BroadcastTags): { message: StreamMessage; event: StreamEvent } | null {
  // Exactly these keys in this order: JSON.stringify follows insertion order, and the text built
  // here must be byte-identical to it.
  if (!isPlainObject(message)) return null;
  const keys = Object.keys(message).join();
  if (keys !== 'id,jsonrpc,result' && keys !== 'id,result') return null;
  const result = message.result;
  if (!isPlainObject(result) || Object.keys(result).join() !== 'type,data,id' || result.type !== 'data') return null;
  const data = result.data;
  if (!isPlainObject(data) || Object.keys(data).join() !== 'id,data') return null;
  const event = tags.eventOf(data.data);
  if (!event || result.id !== event.id || data.id !== event.id) return null; // tracked by the event's own id
  return { message: message as unknown as StreamMessage, event };
}

/** The text before `"result"`: the subscription's request id and JSON-RPC version, the same for all its messages. */
function envelopeHead(m: StreamMessage): string {
  // Whatever JSON.stringify leaves out (undefined, functions) is left out here too.
  const field = (name: string, value: unknown): string => {
    const json = JSON.stringify(value) as string | undefined;
    return json === undefined ? '' : `"${name}":${json},`;
  };
  return `{${field('id', m.id)}${field('jsonrpc', m.jsonrpc)}`;
}

/** A tracked data message for `event` (its id is the event's), as `JSON.stringify` writes it. */
export function streamMessageText(head: string, event: StreamEvent): string {
  const id = JSON.stringify(event.id);
  return `${head}"result":{"type":"data","data":{"id":${id},"data":${event.json}},"id":${id}}}`;
}
