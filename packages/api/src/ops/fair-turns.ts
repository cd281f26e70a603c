/**
 * Every query takes a turn of the event loop before it runs, once the loop has been busy for
 * `sliceMs`. A WebSocket message or HTTP batch of many calls then runs one call per loop
 * iteration, with the server's other sockets (a health probe, a live stream) served in between,
 * instead of all of them back to back in one iteration (1.4 s for 200 pages of 1,000 records).
 *
 * Waiting calls are queued per client and served round robin, so a client that floods the queue
 * delays its own calls, not everyone's; a client with `perClient` calls waiting is refused at
 * once (TurnRefusedError), so the queue's memory stays bounded (over WebSocket, the connection is closed).
 */
export class TurnRefusedError extends Error {
  constructor() {
    super('too many calls waiting for this client; wait for the answers');
  }
}

export class FairTurns {
  /** When the loop last gave a waiting call its turn (or the queues were last empty). */
  private since = performance.now();
  /** Waiting calls by client, in the order clients first queued (the round robin's order). */
  private readonly waiting = new Map<string, (() => void)[]>();
  private pumping = false;
  private total = 0;

  constructor(
    private readonly sliceMs = 4,
    private readonly perClient = 1024,
  ) {}

  async turn(client: string): Promise<void> {
    // Calls started in one tick all get here; the check after this deferral sees the time they took.
    await Promise.resolve();
    if (!this.pumping && performance.now() - this.since < this.sliceMs) return;
    let queue = this.waiting.get(client);
    if (queue && queue.length >= this.perClient) throw new TurnRefusedError();
    await new Promise<void>((resolve) => {
      if (!queue) this.waiting.set(client, (queue = []));
      queue.push(resolve);
      this.total++;
      if (!this.pumping) {
        this.pumping = true;
        setImmediate(this.step);
      }
    });
  }

  get queued(): number {
    return this.total;
  }

  /** Lets one waiting call run (the next client's, in turn), and schedules the next for the following loop iteration. */
  private readonly step = (): void => {
    this.since = performance.now();
    const next = this.waiting.entries().next();
    if (!next.done) {
      const [client, queue] = next.value;
      const resolve = queue.shift()!;
      this.total--;
      // The client goes to the back of the round (or leaves it, with nothing left waiting).
      this.waiting.delete(client);
      if (queue.length > 0) this.waiting.set(client, queue);
      resolve();
    }
    if (this.total > 0) setImmediate(this.step);
    else this.pumping = false;
  };
}
