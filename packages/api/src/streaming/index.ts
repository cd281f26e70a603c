// Streams: the hub and its subscriptions, the fan-out queue, the WebSocket encoder and the direct
// frames, and the one place every transport opens a stream. The server wires them together.
export { StreamEndedError, StreamHub, SUBSCRIBER_QUEUE, type StreamEvent } from './hub.js';
export { openStream, SubscriptionRefusedError } from './open-stream.js';
export { trpcPatchApplied } from './trpc-patch.js';
export { WsConnection } from './ws-direct.js';
export { streamEventEncoder } from './ws-encoder.js';
