import type { ServerResponse } from 'node:http';

/**
 * HTTP answers whose client stopped reading: an answer under way (headers sent, not finished)
 * whose socket has written nothing more for `sweeps` checks in a row is cut off. A slow reader
 * that keeps reading is left alone; one that never reads cannot pin a 10 MB answer in memory.
 * Streams (SSE) are not watched here: they idle by design, and their queues are bounded.
 */
export class StalledResponses {
  private readonly watched = new Map<ServerResponse, { bytes: number; stalls: number }>();

  constructor(
    private readonly onCutOff: () => void,
    private readonly sweeps = 2,
  ) {}

  watch(res: ServerResponse): void {
    this.watched.set(res, { bytes: -1, stalls: 0 });
    res.once('close', () => this.watched.delete(res));
  }

  sweep(): void {
    for (const [res, seen] of this.watched) {
      const socket = res.socket;
      if (!socket || res.writableFinished) {
        this.watched.delete(res);
        continue;
      }
      if (!res.headersSent) continue; // still being computed
      // An event stream idles by design (tRPC's SSE answers any GET that asks for a subscription).
      if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) {
        this.watched.delete(res);
        continue;
      }
      const bytes = socket.bytesWritten;
      if (bytes !== seen.bytes) {
        seen.bytes = bytes;
        seen.stalls = 0;
        continue;
      }
      if (++seen.stalls >= this.sweeps) {
        this.watched.delete(res);
        this.onCutOff();
        socket.destroy();
      }
    }
  }
}
