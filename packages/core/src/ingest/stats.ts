/**
 * What the timestamps of one signal say about it: its logging period, when a
 * reading goes stale, and the spans in which it had a fresh reading (coverage).
 */

/** A reading describes the present for this many of the signal's own periods. */
const STALE_AFTER_PERIODS = 3;
/** Sampled intervals used to measure the median period (enough for a stable median, cheap on big files). */
const PERIOD_SAMPLE = 4_001;

export interface TimingStats {
  medianPeriodMs: number | null;
  staleAfterMs: number | null;
  /** Flat `[from0, to0, from1, to1, ...]`: each run of fresh readings, to = last reading + staleAfter. */
  segments: number[];
  gaps: number;
}

/** `rows` is interleaved `[t0, v0, t1, v1, ...]`, sorted by time. */
export function measureTiming(rows: Float64Array, count: number): TimingStats {
  if (count === 0) return { medianPeriodMs: null, staleAfterMs: null, segments: [], gaps: 0 };
  if (count === 1) return { medianPeriodMs: null, staleAfterMs: null, segments: [rows[0]!, rows[0]!], gaps: 0 };
  const medianPeriodMs = medianInterval(rows, count);
  const staleAfterMs = medianPeriodMs * STALE_AFTER_PERIODS;
  const segments: number[] = [];
  const gaps = extendSegments(segments, rows, 0, count, staleAfterMs);
  return { medianPeriodMs, staleAfterMs, segments, gaps };
}

function medianInterval(rows: Float64Array, count: number): number {
  const intervals = count - 1;
  const n = Math.min(intervals, PERIOD_SAMPLE);
  const sample = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // Evenly spread over the file, so a busy week does not decide the period.
    const i = Math.floor((k * intervals) / n);
    sample[k] = rows[(i + 1) * 2]! - rows[i * 2]!;
  }
  // Selection rather than a sort: linear, and the sort was an eighth of indexing time on small files.
  const mid = n >> 1;
  const upper = select(sample, mid);
  const median = n % 2 ? upper : (maxBelow(sample, mid) + upper) / 2;
  return Math.max(1, median);
}

/** Rearranges `a` so `a[k]` is its k-th smallest value (Hoare's quickselect), and returns it. */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const x = a[i]!;
        a[i] = a[j]!;
        a[j] = x;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

/** The largest of `a[0..k)`, which after `select(a, k)` is the (k-1)-th smallest. */
function maxBelow(a: Float64Array, k: number): number {
  let max = -Infinity;
  for (let i = 0; i < k; i++) if (a[i]! > max) max = a[i]!;
  return max;
}

/**
 * Adds rows [from, to) to the coverage segments (extending the last one when the
 * new rows continue it) and returns how many new gaps longer than `staleAfterMs` appeared.
 */
export function extendSegments(
  segments: number[],
  rows: Float64Array,
  from: number,
  to: number,
  staleAfterMs: number,
): number {
  if (from >= to) return 0;
  let gaps = 0;
  let i = from;
  // The open segment is kept in locals and written back once: this loop runs once per reading.
  let segFrom: number;
  let segTo: number;
  if (segments.length >= 2) {
    segTo = segments.pop()!;
    segFrom = segments.pop()!;
  } else {
    segFrom = rows[i * 2]!;
    segTo = segFrom + staleAfterMs;
    i++;
  }
  for (; i < to; i++) {
    const t = rows[i * 2]!;
    if (t <= segTo) {
      segTo = t + staleAfterMs;
    } else {
      segments.push(segFrom, segTo);
      gaps++;
      segFrom = t;
      segTo = t + staleAfterMs;
    }
  }
  segments.push(segFrom, segTo);
  return gaps;
}

/** Fraction of [first, last] covered by fresh readings. */
export function coverageOf(segments: number[], first: number | null, last: number | null): number {
  if (first === null || last === null) return 0;
  if (last <= first) return 1;
  let covered = 0;
  for (let i = 0; i < segments.length; i += 2) {
    covered += Math.min(segments[i + 1]!, last) - Math.max(segments[i]!, first);
  }
  return Math.max(0, Math.min(1, covered / (last - first)));
}
