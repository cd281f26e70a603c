import type { StreamEvent } from './hub.js';

/** A subscription waiting to be told its messages' envelope (see Subscription.recordFor). */
export interface EnvelopeLearner {
  learnEnvelope(head: string): void;
}

/**
 * Which broadcast a record object handed to tRPC belongs to, and which subscription wants to learn
 * its envelope from it. The WebSocket encoder only sees the record inside tRPC's message; these
 * tags let it find the event's serialised form and due time (ws-encoder.ts). One registry per hub,
 * held weakly: a tag lives exactly as long as its record object.
 */
export class BroadcastTags {
  private readonly events = new WeakMap<object, StreamEvent>();
  private readonly learners = new WeakMap<object, EnvelopeLearner>();

  /** `record` is this broadcast's own object (shared by its subscribers). */
  tagBroadcast(record: object, event: StreamEvent): void {
    this.events.set(record, event);
  }

  /** `copy` is a subscriber's own copy of the broadcast record, through which it learns its envelope. */
  tagLearner(copy: object, event: StreamEvent, learner: EnvelopeLearner): void {
    this.events.set(copy, event);
    this.learners.set(copy, learner);
  }

  eventOf(record: unknown): StreamEvent | undefined {
    return typeof record === 'object' && record !== null ? this.events.get(record) : undefined;
  }

  learnerOf(record: unknown): EnvelopeLearner | undefined {
    return typeof record === 'object' && record !== null ? this.learners.get(record) : undefined;
  }
}
