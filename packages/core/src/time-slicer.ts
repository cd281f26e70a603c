/**
 * Long computations (an anomaly scan over months, 520 cells' statistics) share the one event
 * loop with every request: they call `pause()` between steps, and it yields to the loop once
 * the current slice has run `sliceMs`, so a scan never holds the server for longer than that.
 */
export class TimeSlicer {
  private since = performance.now();

  constructor(private readonly sliceMs = 4) {}

  async pause(): Promise<void> {
    if (performance.now() - this.since < this.sliceMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}
