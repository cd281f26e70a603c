import { WebSocket } from 'ws';

/** Calls one WebSocket message or one HTTP batch may hold. */
export const MAX_BATCH_CALLS = 16;

/**
 * The server's WebSocket class (ws's `WebSocket` option): a message that batches more calls than
 * MAX_BATCH_CALLS is answered with one BAD_REQUEST and not handed to tRPC, whose adapter
 * takes arrays of any length. A message of 100,000 calls otherwise queued 100,000 calls (and their
 * memory) for one socket, and answering even their refusals held the event loop.
 */
export class CallCappedWebSocket extends WebSocket {
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // Messages that arrived with the ones that made the server close this connection are dropped.
    if (event === 'message' && this.readyState !== WebSocket.OPEN) return false;
    if (event === 'message' && args[1] === false && tooManyCalls(args[0])) {
      this.send(
        JSON.stringify({
          id: null,
          error: {
            code: -32600,
            message: `a message may hold at most ${MAX_BATCH_CALLS} calls`,
            data: { code: 'BAD_REQUEST', httpStatus: 400 },
          },
        }),
      );
      return true;
    }
    return super.emit(event, ...args);
  }
}

/** Whether a text message is a JSON array of more calls than allowed (only arrays are parsed here). */
function tooManyCalls(data: unknown): boolean {
  if (!Buffer.isBuffer(data)) return false;
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)) i++;
  if (data[i] !== 0x5b) return false; // not '['
  try {
    const calls: unknown = JSON.parse(data.toString('utf8'));
    return Array.isArray(calls) && calls.length > MAX_BATCH_CALLS;
  } catch {
    return false; // tRPC answers the parse error
  }
}
