import { UnknownDeviceError, type AlignedRecord, type BessDataset, type RecordKind } from '@bess/core';
import { BroadcastTags } from './broadcast-tags.js';
import { FanoutQueue, type Broadcaster, type Recipient } from './fanout-queue.js';

/**
 * One record as a stream hands it out. A broadcast builds one of these and shares it with every
 * subscriber of the reader, so the record is serialised to JSON once, not once per subscriber.
 */
export class StreamEvent {
  private serialised: string | null = null;

  constructor(
    /** The record's timestamp: a client that reconnects with it resumes right after it. */
    readonly id: string,
    /** Shared by every subscriber of the broadcast: treat as read-only. */
    readonly record: AlignedRecord,
    /** When the event was due to go out (performance.now() clock): its replay tick, or when a live record was seen. */
    readonly dueAt: number,
  ) {}

  /** `JSON.stringify(record)`, computed on first use and then reused. */
  get json(): string {
    return (this.serialised ??= JSON.stringify(this.record));
  }

  /** How late handing the event to a client now is on its schedule, in seconds (the send-lateness metric). */
  secondsLate(): number {
    return (performance.now() - this.dueAt) / 1000;
  }

  /** This event's WebSocket frames by message envelope, built by the direct writers (ws-direct.ts) and shared. */
  readonly frames = new Map<string, Buffer>();
}

/** Writes a subscription's events to its client itself, bypassing the transport's per-message path. */
export interface DirectSink {
  send(event: StreamEvent): void;
}
/** Makes a subscription's direct sink once its messages' envelope (the text before the result) is known; null if it cannot. */
export type DirectSinkFactory = (head: string) => DirectSink | null;

export interface StreamRequest {
  kind: RecordKind;
  deviceId: string;
  intervalMs: number;
  stepMs: number;
  /** Replay from this record position (cycling at the end), or follow new records. */
  start: { position: number } | 'live';
}

/** Why a stream ended on the server's side: the client is told, with NOT_FOUND. */
export class StreamEndedError extends Error {
  readonly code = 'NOT_FOUND';
}

/** Per-subscriber buffer: a slow client loses its oldest events (counted), never grows memory. */
export const SUBSCRIBER_QUEUE = 64;
const PREFETCH = 100;

export class Subscription implements Recipient {
  private readonly queue: StreamEvent[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  /** The abort signals already listened to (normally one per subscription, not one listener per event). */
  private readonly signals = new Set<AbortSignal>();
  private readonly onAbort = (): void => {
    this.sink = null;
    this.wake?.();
  };
  /** Set once the queue has drained after the envelope became known: events then bypass the queue. */
  private sink: DirectSink | null = null;
  private pendingSink: DirectSink | null = null;
  private envelopeKnown = false;
  /** Why the stream ended, when it did not end by the subscriber's own close (its device went away). */
  private failure: Error | null = null;
  dropped = 0;

  constructor(
    private readonly tags: BroadcastTags,
    private readonly onClose: (s: Subscription) => void,
    private readonly onDrop: () => void,
    private readonly directSink?: DirectSinkFactory,
  ) {}

  /**
   * The record to hand the transport with `event`. Until the subscription knows its message
   * envelope, that is a copy of the broadcast record (same JSON) that the encoder recognises as
   * this subscription's and reports the envelope of (`learnEnvelope`).
   */
  recordFor(event: StreamEvent): AlignedRecord {
    if (!this.directSink || this.envelopeKnown) return event.record;
    const copy = { ...event.record };
    this.tags.tagLearner(copy, event, this);
    return copy;
  }

  /**
   * `head` starts every message of this subscription. Events already queued still go through
   * the transport, in order; once the queue is empty, `next()` switches to the direct sink.
   */
  learnEnvelope(head: string): void {
    if (this.envelopeKnown || !this.directSink || this.closed) return;
    this.envelopeKnown = true;
    this.pendingSink = this.directSink(head);
  }

  /** Whether events now go straight to the client (for tests and stats). */
  get direct(): boolean {
    return this.sink !== null;
  }

  /** An event this subscriber never got: its reader fell too far behind to deliver it. */
  miss(): void {
    if (this.closed) return;
    this.dropped++;
    this.onDrop();
  }

  push(event: StreamEvent): void {
    if (this.closed) return;
    if (this.sink) {
      this.sink.send(event);
      return;
    }
    if (this.queue.length >= SUBSCRIBER_QUEUE) {
      this.queue.shift();
      this.dropped++;
      this.onDrop();
    }
    this.queue.push(event);
    this.wake?.();
  }

  /** The next event, or null once the subscription is closed or `signal` aborts; throws why the stream ended, if it failed. */
  async next(signal?: AbortSignal): Promise<StreamEvent | null> {
    if (signal && !signal.aborted && !this.closed && !this.signals.has(signal)) {
      this.signals.add(signal);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    while (!this.closed && !signal?.aborted) {
      const event = this.queue.shift();
      if (event) return event;
      if (this.pendingSink) {
        // Queue drained: from here on events go straight to the client, and this call waits
        // (as the transport's iterator) until the subscription ends.
        this.sink = this.pendingSink;
        this.pendingSink = null;
      }
      await new Promise<void>((resolve) => {
        this.wake = () => {
          this.wake = null;
          resolve();
        };
      });
    }
    if (this.failure) throw this.failure;
    return null;
  }

  /** Ends the stream for a reason the subscriber is told (next() throws it once queued events are gone). */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink = this.pendingSink = null;
    this.queue.length = 0;
    for (const signal of this.signals) signal.removeEventListener('abort', this.onAbort);
    this.signals.clear();
    this.wake?.();
    this.onClose(this);
  }
}

/**
 * One reader per (device, kind, interval, step, start): it fetches pages of
 * aligned records and hands each record to every subscriber, so a thousand
 * dashboards on one cabinet cost one timer and one page read per 100 records.
 */
class SharedReader implements Broadcaster {
  readonly subscribers = new Set<Subscription>();
  private position: number;
  private buffer: AlignedRecord[] = [];
  private bufferStart = 0;
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => void) | null = null;
  private stopped = false;
  private ticks = 0;
  private readonly startedAt = performance.now();

  private lastErrorLogged = -Infinity;
  private emitting: Promise<void> | null = null;
  private emitAgain = false;

  constructor(
    private readonly dataset: BessDataset,
    private readonly request: StreamRequest,
    private readonly fanout: FanoutQueue,
    private readonly tags: BroadcastTags,
    private readonly onError: (error: unknown) => void,
  ) {
    this.position = request.start === 'live' ? -1 : request.start.position;
  }

  start(): void {
    if (this.request.start === 'live') {
      this.unlisten = this.dataset.onChange((change) => {
        if (change.devices.has(this.request.deviceId)) void this.emitInTurn().catch(this.failed);
      });
      void this.emitInTurn().catch(this.failed);
    } else {
      this.schedule();
    }
  }

  /**
   * A read failed. When the device is gone (its folder removed) the stream cannot go on: every
   * subscriber is told and the reader stops. Anything else is retried on the next tick, and
   * logged at most once a minute per reader rather than once per tick.
   */
  private readonly failed = (error: unknown): void => {
    if (error instanceof UnknownDeviceError) {
      this.stop();
      const gone = new StreamEndedError(`device ${this.request.deviceId} is no longer in the data folder`);
      for (const s of [...this.subscribers]) s.fail(gone);
      return;
    }
    const now = performance.now();
    if (now - this.lastErrorLogged < 60_000) return;
    this.lastErrorLogged = now;
    this.onError(error);
  };

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unlisten?.();
    this.unlisten = null;
    this.fanout.cancel(this);
  }

  /** One event object (and one JSON serialisation) for all subscribers. */
  private broadcast(source: AlignedRecord, dueAt: number): void {
    const record = { ...source }; // this broadcast's own object, tagged with its event
    const event = new StreamEvent(record.timestamp, record, dueAt);
    this.tags.tagBroadcast(record, event);
    this.fanout.add(this, event);
  }

  /** Paced replay: tick n is due at start + n * interval, so delays do not accumulate. */
  private schedule(): void {
    if (this.stopped) return;
    const due = this.startedAt + this.ticks * this.request.intervalMs;
    this.timer = setTimeout(
      () => {
        this.ticks++;
        this.replayOne(due)
          .catch(this.failed)
          .finally(() => this.schedule());
      },
      Math.max(0, due - performance.now()),
    );
  }

  private async replayOne(due: number): Promise<void> {
    const { deviceId, kind, stepMs } = this.request;
    this.dataset.device(deviceId); // gone since the last tick: the stream ends now, not after the prefetched records
    if (this.position < this.bufferStart || this.position >= this.bufferStart + this.buffer.length) {
      let page = await this.dataset.page(deviceId, kind, { skip: this.position, limit: PREFETCH, stepMs });
      if (page.records.length === 0 && page.total > 0) {
        this.position = 0; // end of the data: cycle to the start, as the prototype did
        page = await this.dataset.page(deviceId, kind, { skip: 0, limit: PREFETCH, stepMs });
      }
      this.buffer = page.records;
      this.bufferStart = this.position;
    }
    const record = this.buffer[this.position - this.bufferStart];
    if (!record || this.stopped) return;
    this.position++;
    this.broadcast(record, due);
  }

  /**
   * One emitNew at a time: a change that arrives while one runs makes it go round once more. Two
   * side by side would both send the records after the same position.
   */
  private emitInTurn(): Promise<void> {
    if (this.emitting) {
      this.emitAgain = true;
      return this.emitting;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.emitAgain = false;
          await this.emitNew();
        } while (this.emitAgain && !this.stopped);
      } finally {
        this.emitting = null;
      }
    };
    return (this.emitting = run());
  }

  /** Live: push every record that appeared since the last one sent (the newest one first time). */
  private async emitNew(): Promise<void> {
    const { deviceId, kind, stepMs } = this.request;
    const total = (await this.dataset.page(deviceId, kind, { skip: 0, limit: 1, stepMs })).total;
    if (this.position < 0) this.position = Math.max(0, total - 1);
    while (this.position < total && !this.stopped) {
      const page = await this.dataset.page(deviceId, kind, { skip: this.position, limit: 1000, stepMs });
      if (page.records.length === 0) break;
      const seen = performance.now();
      for (const record of page.records) this.broadcast(record, seen);
      this.position += page.records.length;
    }
  }
}

export interface HubStats {
  readers: number;
  subscribers: number;
  /** Subscribers whose events go straight to their socket (ws-direct.ts). */
  direct: number;
  dropped: number;
}

export class StreamHub {
  /** Which broadcast each record handed to a transport belongs to (read by the WebSocket encoder). */
  readonly tags = new BroadcastTags();
  private readonly readers = new Map<string, SharedReader>();
  private readonly fanout = new FanoutQueue(SUBSCRIBER_QUEUE);
  private droppedTotal = 0;

  constructor(
    private readonly dataset: BessDataset,
    private readonly hooks: { onDrop?: () => void; onError?: (error: unknown) => void } = {},
  ) {}

  /** `directSink`: how the transport can write this subscription's events itself, once it knows their envelope. */
  subscribe(request: StreamRequest, directSink?: DirectSinkFactory): Subscription {
    const key = JSON.stringify([request.kind, request.deviceId, request.intervalMs, request.stepMs, request.start]);
    let reader = this.readers.get(key);
    const subscription = new Subscription(
      this.tags,
      (s) => {
        const r = this.readers.get(key);
        if (!r) return;
        r.subscribers.delete(s);
        // The last subscriber gone: stop the timer and the file listener, leave nothing behind.
        if (r.subscribers.size === 0) {
          r.stop();
          this.readers.delete(key);
        }
      },
      () => {
        this.droppedTotal++;
        this.hooks.onDrop?.();
      },
      directSink,
    );
    if (!reader) {
      reader = new SharedReader(this.dataset, request, this.fanout, this.tags, (e) => this.hooks.onError?.(e));
      this.readers.set(key, reader);
      reader.subscribers.add(subscription);
      reader.start();
    } else {
      reader.subscribers.add(subscription);
    }
    return subscription;
  }

  stats(): HubStats {
    let subscribers = 0;
    let direct = 0;
    for (const r of this.readers.values()) {
      subscribers += r.subscribers.size;
      for (const s of r.subscribers) if (s.direct) direct++;
    }
    return { readers: this.readers.size, subscribers, direct, dropped: this.droppedTotal };
  }

  close(): void {
    for (const r of this.readers.values()) {
      r.stop();
      for (const s of [...r.subscribers]) s.close();
    }
    this.readers.clear();
    this.fanout.close();
  }
}
