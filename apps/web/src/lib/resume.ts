/**
 * Bookkeeping for a stream the operator can pause and that the network can
 * drop: it remembers the last event id, so resuming (or reconnecting) asks the
 * server to continue right after it instead of restarting the replay.
 */
export interface StreamCursor {
  lastEventId: string | null;
  received: number;
}

export const freshCursor = (): StreamCursor => ({ lastEventId: null, received: 0 });

export function advance(cursor: StreamCursor, eventId: string): StreamCursor {
  return { lastEventId: eventId, received: cursor.received + 1 };
}

/** The subscription input for (re)starting: resume after the last event when there is one. */
export function resumeInput<T extends object>(base: T, cursor: StreamCursor): T & { lastEventId?: string } {
  return cursor.lastEventId ? { ...base, lastEventId: cursor.lastEventId } : base;
}
