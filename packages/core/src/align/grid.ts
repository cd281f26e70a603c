/**
 * The time grid of aligned records. Grid points are whole multiples of the step
 * since the epoch, so a record's time never depends on where a query starts and
 * pages stay stable as data grows. Only points inside the union of the signals'
 * coverage segments (some signal has a fresh reading) are records; counting them
 * per segment makes `skip` a binary search instead of a scan.
 */

/** Union of flat `[from, to, ...]` segment lists, sorted and merged. */
export function unionSegments(lists: readonly number[][]): number[] {
  const spans: [number, number][] = [];
  for (const list of lists) for (let i = 0; i < list.length; i += 2) spans.push([list[i]!, list[i + 1]!]);
  spans.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [from, to] of spans) {
    const last = out.length - 1;
    if (last > 0 && from <= out[last]!) out[last] = Math.max(out[last]!, to);
    else out.push(from, to);
  }
  return out;
}

/**
 * Segments cut off at `end`: the record timeline stops at the kind's newest reading. A signal's
 * freshness reaches past it (for an hourly signal, by hours), but records there would show values
 * no reading has given yet, and a live stream would have sent them before the reading arrived.
 */
export function clipSegments(segments: readonly number[], end: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < segments.length; i += 2) {
    if (segments[i]! > end) break;
    out.push(segments[i]!, Math.min(segments[i + 1]!, end));
  }
  return out;
}

export class RecordGrid {
  /** Per usable segment: first grid index k (time = k * step) and how many points it holds. */
  private readonly firstK: number[] = [];
  private readonly counts: number[] = [];
  /** cumulative[i] = points in segments before i. */
  private readonly cumulative: number[] = [];
  readonly total: number;

  constructor(
    coverage: readonly number[],
    readonly stepMs: number,
    from = -Infinity,
    to = Infinity,
  ) {
    let total = 0;
    for (let i = 0; i < coverage.length; i += 2) {
      const start = Math.max(coverage[i]!, from);
      const end = Math.min(coverage[i + 1]!, to);
      if (end < start) continue;
      const kFirst = Math.ceil(start / stepMs);
      const kLast = Math.floor(end / stepMs);
      if (kLast < kFirst) continue;
      this.firstK.push(kFirst);
      this.counts.push(kLast - kFirst + 1);
      this.cumulative.push(total);
      total += kLast - kFirst + 1;
    }
    this.total = total;
  }

  /** Times of records `skip .. skip + limit - 1` (fewer at the end). */
  times(skip: number, limit: number): number[] {
    const out: number[] = [];
    if (skip >= this.total || limit <= 0) return out;
    let seg = this.segmentOf(skip);
    let offset = skip - this.cumulative[seg]!;
    while (out.length < limit && seg < this.counts.length) {
      out.push((this.firstK[seg]! + offset) * this.stepMs);
      offset++;
      if (offset >= this.counts[seg]!) {
        seg++;
        offset = 0;
      }
    }
    return out;
  }

  /** Position of the first record at or after `t` (may equal `total`). */
  positionOf(t: number): number {
    const k = Math.ceil(t / this.stepMs);
    let lo = 0;
    let hi = this.firstK.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.firstK[mid]! + this.counts[mid]! - 1 < k) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.firstK.length) return this.total;
    return this.cumulative[lo]! + Math.max(0, k - this.firstK[lo]!);
  }

  private segmentOf(position: number): number {
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cumulative[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
