import type { SignalSpec } from '../../catalog.js';
import { round, type Finding, type See } from '../condition.js';
import { LogHistogram, medianInPlace } from '../stats.js';

const HOUR = 3_600_000;

/**
 * A current spike is a short excursion that comes back: the current leaves its level (the
 * median of its last `window` readings) by more than the cabinet's own normal dynamics allow,
 * and returns to that level within `returnMs`. "Normal" is learned from the cabinet: how far its
 * current usually moves from one reading to the next (a frequency-regulating cabinet's moves
 * all day, an arbitrage cabinet's steps a few times) and its usual peak. A move that stays is a
 * new operating point, not a spike; a sustained overcurrent is the current limit's alarm.
 */
const CURRENT_SPIKE = {
  window: 3,
  /** Never a spike below this (A). */
  floorA: 25,
  /** A departure this many times the largest usual one (its 99.9th percentile)... */
  departureFactor: 1.5,
  /** ...or a current this many times the usual peak (the 99.9th percentile of its size). */
  peakFactor: 1.25,
  /** A spike is a transient: a level held longer is a dispatch interval (5 to 15 min), not a fault. */
  returnMs: 10 * 60_000,
  /** Nothing is judged before a whole day of the current has been seen: dispatch runs on a daily schedule. */
  learnMs: 24 * HOUR,
} as const;

export function spikeCheck(spec: SignalSpec): See {
  const o = CURRENT_SPIKE;
  const ring = new Float64Array(o.window);
  const scratch = new Float64Array(o.window);
  const departures = new LogHistogram(0.1);
  const sizes = new LogHistogram(0.1);
  let filled = 0;
  let next = 0;
  let firstT = NaN;
  let candidate: { start: number; baseline: number; threshold: number; peak: number } | null = null;
  const remember = (v: number) => {
    ring[next] = v;
    next = (next + 1) % o.window;
    filled = Math.min(o.window, filled + 1);
  };
  return (t, v) => {
    if (Number.isNaN(firstT)) firstT = t;
    if (candidate) {
      const c = candidate;
      // Back to the level it left, or to another one with the peak standing out from both (the
      // spike came as a burst of dispatch ended, say): either way a short excursion.
      if (Math.abs(v - c.baseline) < c.threshold / 2 || standsOut(c.peak, c.baseline, v) >= c.threshold) {
        candidate = null;
        remember(v);
        return spikeFinding(spec, c, v);
      }
      if (t - c.start > o.returnMs) {
        // It stayed: a new operating point, now the current's level, and a move of the size this cabinet makes.
        candidate = null;
        departures.add(Math.abs(v - c.baseline));
        ring.fill(v);
        return null;
      }
      if (Math.abs(v - c.baseline) > Math.abs(c.peak - c.baseline)) c.peak = v;
      return null;
    }
    if (filled < o.window) {
      remember(v);
      return null;
    }
    scratch.set(ring);
    const level = medianInPlace(scratch);
    const departure = Math.abs(v - level);
    if (t - firstT >= o.learnMs && departure >= o.floorA) {
      const threshold = Math.max(o.floorA, o.departureFactor * departures.quantile(0.999));
      const overPeak = Math.abs(v) >= o.peakFactor * sizes.quantile(0.999);
      if (departure >= threshold || overPeak) {
        candidate = { start: t, baseline: level, threshold: Math.min(threshold, departure), peak: v };
        return null;
      }
    }
    departures.add(departure);
    sizes.add(Math.abs(v));
    remember(v);
    return null;
  };
}
/** How far a peak lies beyond both the level before it and the level after it. */
function standsOut(peak: number, before: number, after: number): number {
  return peak >= before ? peak - Math.max(before, after) : Math.min(before, after) - peak;
}

function spikeFinding(
  spec: SignalSpec,
  c: { start: number; baseline: number; threshold: number; peak: number },
  after: number,
): Finding {
  const excess = Math.abs(c.peak - c.baseline);
  return {
    severity: excess >= 2 * c.threshold ? 'critical' : 'warning',
    observed: round(c.peak),
    threshold: [round(c.baseline - c.threshold), round(c.baseline + c.threshold)],
    beyond: excess - c.threshold,
    message: `${spec.label} spiked to ${round(c.peak, 1)} ${spec.unit} from ${round(c.baseline, 1)} ${spec.unit} and came back to ${round(after, 1)} ${spec.unit} (usual moves stay within ±${round(c.threshold, 1)} ${spec.unit})`,
    since: c.start,
  };
}
