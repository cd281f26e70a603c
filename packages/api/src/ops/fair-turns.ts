/**
 * Every query takes a turn of the event loop before it runs, once the loop has been busy for
 * `sliceMs`. A WebSocket message or HTTP batch of hundreds of calls then runs one call per loop
 * iteration, with the server's other sockets (a health probe, a live stream) served in between,
 * instead of hundreds of calls back to back in one iteration (1.4 s for 200 pages of 1,000 records).
 */
export class FairTurns {
  /** When the loop last gave a waiting query its turn (or the queue was last empty). */
  private since = performance.now();
  private readonly waiting: (() => void)[] = [];
  private pumping = false;

  constructor(private readonly sliceMs = 4) {}

  async turn(): Promise<void> {
    // Calls started in one tick all get here; the check after this deferral sees the time they took.
    await null;
    if (!this.pumping && performance.now() - this.since < this.sliceMs) return;
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      if (!this.pumping) {
        this.pumping = true;
        setImmediate(this.step);
      }
    });
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Lets one waiting call run, and schedules the next for the following loop iteration. */
  private readonly step = (): void => {
    this.since = performance.now();
    this.waiting.shift()?.();
    if (this.waiting.length > 0) setImmediate(this.step);
    else this.pumping = false;
  };
}
