/**
 * Collects work asked for within one turn of the event loop and does it once: the 520 cell
 * lookups of a cell snapshot, made side by side, become one query instead of 520.
 */
export class TickBatch<T> {
  private items: T[] = [];
  private pending: Promise<void> | null = null;

  constructor(private readonly run: (items: T[]) => Promise<void>) {}

  /** Resolves once the batch holding `items` has run (rejects if it failed). */
  add(items: Iterable<T>): Promise<void> {
    for (const item of items) this.items.push(item);
    this.pending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const batch = this.items;
      this.items = [];
      this.pending = null;
      return this.run(batch);
    });
    return this.pending;
  }
}
