/**
 * The points of a live chart: those within `spanMs` of the newest, in time order, at most
 * `capacity` of them, so a dashboard left open for days holds a fixed amount.
 */
export class TimeWindow<T extends { t: number }> {
  private items: T[] = [];

  constructor(
    readonly spanMs: number,
    readonly capacity = 5000,
  ) {}

  /** Adds points newer than the newest held (a replayed or resent one is dropped); a new array for React. */
  push(...points: T[]): T[] {
    const newest = this.items.at(-1)?.t ?? -Infinity;
    const fresh = points.filter((p, i) => p.t > newest && (i === 0 || p.t > points[i - 1]!.t));
    if (fresh.length === 0) return this.items;
    return this.trim(this.items.concat(fresh));
  }

  replace(points: T[]): T[] {
    this.items = [];
    return this.push(...points);
  }

  clear(): T[] {
    this.items = [];
    return this.items;
  }

  private trim(points: T[]): T[] {
    const from = points.at(-1)!.t - this.spanMs;
    let start = 0;
    while (start < points.length && points[start]!.t < from) start++;
    start = Math.max(start, points.length - this.capacity);
    this.items = start > 0 ? points.slice(start) : points;
    return this.items;
  }
}
