/**
 * A fixed-size sliding window of chart points: live charts keep the newest
 * `capacity` points and never grow, however long the dashboard stays open.
 */
export class SlidingWindow<T> {
  private items: T[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('capacity must be a positive integer');
  }

  /** Adds points; returns a new array (React state must change identity to re-render). */
  push(...points: T[]): T[] {
    const next = this.items.concat(points);
    this.items = next.length > this.capacity ? next.slice(next.length - this.capacity) : next;
    return this.items;
  }

  clear(): T[] {
    this.items = [];
    return this.items;
  }

  get points(): readonly T[] {
    return this.items;
  }
}
