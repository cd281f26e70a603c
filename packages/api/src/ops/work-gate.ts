/**
 * The budget for heavy queries (anomaly scans, forecasts, cell statistics): a few run at a time,
 * a bounded queue waits, and one client can hold only a couple of places. A batch of a hundred
 * scans then waits its turn instead of taking the event loop and the memory of the whole server,
 * and a client over its share is told so at once (TOO_MANY_REQUESTS) rather than queued.
 */
export interface WorkGateOptions {
  /** Heavy jobs running at once (they take turns on the one event loop, yielding between steps). */
  running: number;
  /** Jobs waiting for a place; more are refused. */
  queued: number;
  /** Places (running or waiting) one client may hold. */
  perClient: number;
}

export const DEFAULT_WORK_GATE: WorkGateOptions = { running: 1, queued: 64, perClient: 8 };

export class GateFullError extends Error {
  constructor(readonly scope: 'client' | 'server') {
    super(
      scope === 'client'
        ? 'too many heavy queries in flight for this client; wait for them'
        : 'the server is busy with heavy queries; retry shortly',
    );
  }
}

export class WorkGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly held = new Map<string, number>();

  constructor(readonly options: WorkGateOptions = DEFAULT_WORK_GATE) {}

  /** Runs `job` when a place is free; throws GateFullError when the client or the queue is at its limit. */
  async run<T>(client: string, job: () => Promise<T> | T): Promise<T> {
    const mine = this.held.get(client) ?? 0;
    if (mine >= this.options.perClient) throw new GateFullError('client');
    if (this.active >= this.options.running && this.waiting.length >= this.options.queued)
      throw new GateFullError('server');
    this.held.set(client, mine + 1);
    try {
      if (this.active >= this.options.running) await new Promise<void>((resolve) => this.waiting.push(resolve));
      else this.active++;
      try {
        return await job();
      } finally {
        const next = this.waiting.shift();
        if (next)
          next(); // the place passes straight to the next job
        else this.active--;
      }
    } finally {
      const n = (this.held.get(client) ?? 1) - 1;
      if (n <= 0) this.held.delete(client);
      else this.held.set(client, n);
    }
  }

  stats(): { running: number; queued: number } {
    return { running: this.active, queued: this.waiting.length };
  }
}
