import type { WebSocket } from 'ws';

export interface KeepAliveOptions {
  /** How often each connection is pinged; one that has not answered by its next ping is cut off. */
  intervalMs: number;
  /** Turns per interval: connections are spread over them at random. */
  slots: number;
}

export const DEFAULT_KEEP_ALIVE: KeepAliveOptions = { intervalMs: 30_000, slots: 30 };

/**
 * Finds WebSocket clients that vanished without closing (a half-open TCP connection would hold
 * its subscriptions, and their sends, forever): every connection gets a WebSocket protocol ping
 * once per interval, which browsers and `ws` answer by themselves, and one that has sent
 * nothing (no pong, no message) since its last ping is terminated.
 *
 * Each connection is pinged in one of `slots` turns, picked at random, so load stays level.
 * tRPC's own keep-alive pings each client a fixed time after its last message: clients that
 * connect together are pinged together, and 5,000 of them made a burst of sends and replies
 * every 30 s that held up stream events. One timer for all connections, not two per connection.
 * (tRPC's text PING from a client is still answered with PONG by tRPC's adapter.)
 */
export class KeepAlive {
  /** Per slot: each connection, and whether it has been heard from since its last ping. */
  private readonly slots: Map<WebSocket, boolean>[];
  private turn = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly options: KeepAliveOptions = DEFAULT_KEEP_ALIVE,
    private readonly onTimeout: () => void = () => {},
  ) {
    this.slots = Array.from({ length: options.slots }, () => new Map<WebSocket, boolean>());
    this.timer = setInterval(() => this.next(), options.intervalMs / options.slots);
    this.timer.unref();
  }

  watch(ws: WebSocket): void {
    const slot = this.slots[Math.floor(Math.random() * this.slots.length)]!;
    const heard = (): void => void slot.set(ws, true);
    slot.set(ws, true);
    ws.on('pong', heard);
    ws.on('message', heard);
    ws.once('close', () => slot.delete(ws));
  }

  private next(): void {
    const slot = this.slots[this.turn]!;
    this.turn = (this.turn + 1) % this.slots.length;
    for (const [ws, heard] of slot) {
      if (!heard) {
        slot.delete(ws);
        this.onTimeout();
        ws.terminate();
        continue;
      }
      slot.set(ws, false);
      ws.ping();
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
