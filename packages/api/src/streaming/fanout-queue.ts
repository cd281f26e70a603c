import type { StreamEvent } from './hub.js';

/** A stream's subscriber, as the queue sees it. */
export interface Recipient {
  push(event: StreamEvent): void;
  /** An event this subscriber never got: delivery fell too far behind to hand it out. */
  miss(): void;
}

/** A stream as the queue sees it: who gets its broadcasts (as of when one starts going out). */
export interface Broadcaster {
  readonly subscribers: ReadonlySet<Recipient>;
}

interface Delivery {
  readonly from: Broadcaster;
  readonly event: StreamEvent;
  /** The subscribers as when the delivery began (null until then), and how many have it. */
  targets: Recipient[] | null;
  handed: number;
  cancelled: boolean;
}

/**
 * Subscribers a broadcast reaches per event-loop turn. In chunks, other work (queries, other
 * I/O) runs between them; a subscriber on tRPC's per-message path runs its chain in the
 * microtasks after the turn, and in chunks each chain's garbage dies young.
 */
export const FANOUT_CHUNK = 100;

/**
 * Hands every stream's broadcasts to their subscribers, one queue for the whole hub: the
 * earliest broadcast goes out to all of its subscribers before the next one starts, a chunk
 * per event-loop turn. Earliest-first keeps the latest delivery as early as it can be, and each
 * subscriber's place in the sending order the same from one event to the next: when each
 * stream handed out its own broadcasts, streams due at the same moment interleaved their
 * chunks in whatever order their timers fired, so a subscriber got one event early and the
 * next 100 ms later. Each stream's events still go out in order.
 *
 * A stream whose undelivered broadcasts exceed `maxBacklog` loses its oldest: the subscribers
 * still waiting for it are told (`miss`, counted), and memory never grows.
 */
export class FanoutQueue {
  private readonly queue: Delivery[] = [];
  /** Per stream, its deliveries not yet complete, oldest first. */
  private readonly backlog = new Map<Broadcaster, Delivery[]>();
  private immediate: NodeJS.Immediate | null = null;

  constructor(private readonly maxBacklog: number) {}

  /** Queues `event` for `from`'s subscribers; the first chunk goes at once when nothing is waiting. */
  add(from: Broadcaster, event: StreamEvent): void {
    const delivery: Delivery = { from, event, targets: null, handed: 0, cancelled: false };
    this.queue.push(delivery);
    let pending = this.backlog.get(from);
    if (!pending) this.backlog.set(from, (pending = []));
    pending.push(delivery);
    if (pending.length > this.maxBacklog) this.lose(pending.shift()!);
    if (!this.immediate) this.run();
  }

  /** Drops a stream's undelivered broadcasts (it stopped). */
  cancel(from: Broadcaster): void {
    for (const delivery of this.backlog.get(from) ?? []) delivery.cancelled = true;
    this.backlog.delete(from);
  }

  close(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.queue.length = 0;
    this.backlog.clear();
  }

  private lose(delivery: Delivery): void {
    delivery.cancelled = true;
    const targets = delivery.targets ?? [...delivery.from.subscribers];
    for (let i = delivery.handed; i < targets.length; i++) targets[i]!.miss();
  }

  private run(): void {
    this.immediate = null;
    let budget = FANOUT_CHUNK;
    while (budget > 0 && this.queue.length > 0) {
      const delivery = this.queue[0]!;
      if (delivery.cancelled) {
        this.queue.shift();
        continue;
      }
      const targets = (delivery.targets ??= [...delivery.from.subscribers]);
      const end = Math.min(targets.length, delivery.handed + budget);
      for (let i = delivery.handed; i < end; i++) targets[i]!.push(delivery.event);
      budget -= end - delivery.handed;
      delivery.handed = end;
      if (end >= targets.length) this.finish(delivery);
    }
    if (this.queue.length > 0) this.immediate = setImmediate(() => this.run());
  }

  private finish(delivery: Delivery): void {
    this.queue.shift();
    const pending = this.backlog.get(delivery.from)!;
    pending.shift(); // a stream's deliveries finish in order: this one is its oldest
    if (pending.length === 0) this.backlog.delete(delivery.from);
  }
}
