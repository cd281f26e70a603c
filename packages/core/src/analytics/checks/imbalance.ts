import type { AlertUpdate, Condition } from '../condition.js';
import { round } from '../condition.js';
import { LogHistogram } from '../stats.js';

const DAY_MS = 86_400_000;

/**
 * PCS phase imbalance: how far a phase's current stands from the three-phase mean, relative to
 * it (NEMA's measure: one phase 20 % above the other two is 12.5 %), from each phase's sum
 * over the last `window` measurements: the phases are logged moments apart, and while a
 * regulating current moves they see different currents, which cancels out over a window but
 * not in one measurement. The deviation must also stand above the largest this cabinet usually
 * shows (what that cancelling leaves), so a cabinet regulating fast is judged by its own noise. Judged only while the PCS carries a meaningful share of its own rating,
 * measured from the data after a day of it (the 99th percentile of the mean phase current), and
 * only where the deviation stands clear of the noise an idle PCS shows on each phase.
 */
export const PHASE_IMBALANCE = {
  signals: ['pcs1_ia', 'pcs1_ib', 'pcs1_ic'],
  ratio: 0.1,
  shareOfRating: 0.2,
  window: 40,
  /** The deviation must also be this many times the largest usual one (the 99.5th percentile over past windows). */
  usualFactor: 1.5,
  minDurationMs: 10 * 60_000,
  /** A flow paused this long starts a new window. */
  pauseMs: 30 * 60_000,
  /** Phases read within this long of each other count as one measurement. */
  togetherMs: 120_000,
  /** The deviation must stand this many noise levels (an idle phase's, over the window) above noise. */
  noiseFactor: 4,
  /** Below this share of the rating a PCS counts as idle: its phase readings are then noise. */
  idleShare: 0.05,
} as const;

export function phaseImbalanceCheck(c: Condition) {
  const o = PHASE_IMBALANCE;
  const latest = new Float64Array(3).fill(NaN);
  const seen = new Float64Array(3).fill(-Infinity);
  const rating = new LogHistogram(0.1);
  /** The last `window` judged measurements of the three phases, and their running sums. */
  const ring = new Float64Array(3 * o.window);
  const sums = new Float64Array(3);
  const usual = new LogHistogram(0.001);
  // Deviations join `usual` two windows late, and none queued when a condition opens: a fault's rising edge is not "usual".
  const lagged = new Float64Array(2 * o.window).fill(NaN);
  let lagNext = 0;
  let filled = 0;
  let next = 0;
  let firstT = NaN;
  let judgedAt = -Infinity;
  let idleSquares = 0;
  let idleCount = 0;
  let lastJudged = -Infinity;

  const judge = (t: number, out: AlertUpdate[]) => {
    const [a, b, cc] = latest as unknown as [number, number, number];
    const mean = (a + b + cc) / 3;
    rating.add(mean);
    const rated = t - firstT >= DAY_MS ? rating.quantile(0.99) : null;
    if (rated !== null && mean < o.idleShare * rated) {
      idleSquares += a * a + b * b + cc * cc;
      idleCount += 3;
    }
    // Too little current to judge: only let a stale event close (the window keeps its judged measurements).
    if (rated === null || mean < Math.max(1, o.shareOfRating * rated)) return c.expire(t, out);
    // After a pause in the flow the window starts afresh: another session's currents say nothing of this one.
    if (t - lastJudged > o.pauseMs) {
      filled = 0;
      sums.fill(0);
    }
    lastJudged = t;
    for (let p = 0; p < 3; p++) {
      const x = latest[p]!;
      if (filled === o.window) sums[p]! -= ring[3 * next + p]!;
      ring[3 * next + p] = x;
      sums[p]! += x;
    }
    next = (next + 1) % o.window;
    filled = Math.min(o.window, filled + 1);
    if (filled < o.window) return;
    const m = (sums[0]! + sums[1]! + sums[2]!) / 3;
    const deviation = Math.max(Math.abs(sums[0]! - m), Math.abs(sums[1]! - m), Math.abs(sums[2]! - m)) / m;
    const current = m / o.window;
    // A clamped or rectified noise of RMS r has a standard deviation of at most r * sqrt(2).
    const noise = idleCount > 0 ? Math.sqrt((2 * idleSquares) / idleCount) : 0;
    const limit = Math.max(o.ratio, o.usualFactor * usual.quantile(0.995));
    const clear = deviation * current >= (o.noiseFactor * noise) / Math.sqrt(o.window);
    if (c.holding) lagged.fill(NaN);
    else {
      const old = lagged[lagNext]!;
      lagged[lagNext] = deviation;
      lagNext = (lagNext + 1) % lagged.length;
      if (!Number.isNaN(old)) usual.add(old);
    }
    c.update(
      t,
      deviation >= limit && clear
        ? {
            severity: deviation >= 2 * limit ? 'critical' : 'warning',
            observed: round(deviation),
            threshold: round(limit),
            beyond: deviation - limit,
            message: `AC phase currents ${Math.round(deviation * 100)} % apart from their mean at ${round(current, 1)} A (limit ${Math.round(limit * 100)} %, judged above ${round(o.shareOfRating * rated, 1)} A)`,
          }
        : null,
      out,
    );
  };

  return {
    reading(signal: string, t: number, v: number, out: AlertUpdate[]): void {
      const k = (o.signals as readonly string[]).indexOf(signal);
      if (Number.isNaN(firstT)) firstT = t;
      latest[k] = v;
      seen[k] = t;
      // One measurement per round of the three phases: each has been read since the last, all close together.
      const oldest = Math.min(seen[0]!, seen[1]!, seen[2]!);
      if (oldest > judgedAt && oldest >= t - o.togetherMs) {
        judgedAt = t;
        judge(t, out);
      }
    },
  };
}
