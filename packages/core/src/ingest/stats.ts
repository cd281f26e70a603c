/**
 * What the timestamps of one signal say about it: its logging period, when a
 * reading goes stale, and the spans in which it had a fresh reading (coverage).
 */

import { medianInPlace } from '../analytics/stats.js';

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
  return Math.max(1, medianInPlace(sample));
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
