import type { AlertUpdate, Condition } from '../condition.js';
import { round } from '../condition.js';
import { LogHistogram } from '../stats.js';

const DAY_MS = 86_400_000;

/**
 * PCS phase imbalance: how far a phase's current stands from the three-phase mean, relative to
 * it (NEMA's measure: one phase 20 % above the other two is 12.5 %), from each phase's sum
 * over the last `windows` measurements: the phases are logged moments apart, and while a
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
  /**
   * Measurements summed per judgement: a short window for a plain imbalance, and a long one whose
   * cancelling leaves 1/sqrt(3) of the short one's noise (a fault's bias stays), for a 20 %
   * imbalance on a cabinet regulating fast.
   */
  windows: [40, 120],
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

/**
 * The last `size` judged measurements of the three phases, their running sums, and the deviations
 * this cabinet usually shows over such a window.
 */
class PhaseWindow {
  private readonly ring: Float64Array;
  private readonly sums = new Float64Array(3);
  private readonly usual = new LogHistogram(0.001);
  // Deviations join `usual` two windows late, and none queued when a condition opens: a fault's rising edge is not "usual".
  private readonly lagged: Float64Array;
  private lagNext = 0;
  private lagCleared = false;
  private filled = 0;
  private next = 0;

  constructor(readonly size: number) {
    this.ring = new Float64Array(3 * size);
    this.lagged = new Float64Array(2 * size).fill(NaN);
  }

  /** Starts afresh: another session's currents say nothing of this one. */
  reset(): void {
    this.filled = 0;
    this.sums.fill(0);
  }

  push(latest: Float64Array): void {
    for (let p = 0; p < 3; p++) {
      const x = latest[p]!;
      if (this.filled === this.size) this.sums[p]! -= this.ring[3 * this.next + p]!;
      this.ring[3 * this.next + p] = x;
      this.sums[p]! += x;
    }
    this.next = (this.next + 1) % this.size;
    this.filled = Math.min(this.size, this.filled + 1);
  }

  /** Mean phase current over the window, or NaN until it is full. */
  get current(): number {
    return this.filled < this.size ? NaN : (this.sums[0]! + this.sums[1]! + this.sums[2]!) / 3 / this.size;
  }

  /** The largest phase's distance from the three-phase mean, relative to it, or NaN until full. */
  get deviation(): number {
    if (this.filled < this.size) return NaN;
    const a = this.sums[0]!;
    const b = this.sums[1]!;
    const c = this.sums[2]!;
    const m = (a + b + c) / 3;
    return Math.max(Math.abs(a - m), Math.abs(b - m), Math.abs(c - m)) / m;
  }

  limit(ratio: number, factor: number): number {
    return Math.max(ratio, factor * this.usual.quantile(0.995));
  }

  /** Learns the window's deviation as usual, two windows late; forgets the queue while a condition holds. */
  learn(deviation: number, holding: boolean): void {
    if (holding) {
      if (!this.lagCleared) this.lagged.fill(NaN);
      this.lagCleared = true;
      return;
    }
    this.lagCleared = false;
    const old = this.lagged[this.lagNext]!;
    this.lagged[this.lagNext] = deviation;
    this.lagNext = (this.lagNext + 1) % this.lagged.length;
    if (!Number.isNaN(old)) this.usual.add(old);
  }
}

export function phaseImbalanceCheck(c: Condition) {
  const o = PHASE_IMBALANCE;
  const latest = new Float64Array(3).fill(NaN);
  const seen = new Float64Array(3).fill(-Infinity);
  const rating = new LogHistogram(0.1);
  const windows = o.windows.map((size) => new PhaseWindow(size));
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
    // Too little current to judge: only let a stale event close (the windows keep their judged measurements).
    if (rated === null || mean < Math.max(1, o.shareOfRating * rated)) return c.expire(t, out);
    // After a pause in the flow the windows start afresh: another session's currents say nothing of this one.
    if (t - lastJudged > o.pauseMs) for (const w of windows) w.reset();
    lastJudged = t;
    // A clamped or rectified noise of RMS r has a standard deviation of at most r * sqrt(2).
    const noise = idleCount > 0 ? Math.sqrt((2 * idleSquares) / idleCount) : 0;
    const holding = c.holding;
    let finding: { deviation: number; limit: number; current: number } | null = null;
    let full = false;
    for (const w of windows) {
      w.push(latest);
      const deviation = w.deviation;
      if (Number.isNaN(deviation)) continue;
      full = true;
      const current = w.current;
      const limit = w.limit(o.ratio, o.usualFactor);
      const clear = deviation * current >= (o.noiseFactor * noise) / Math.sqrt(w.size);
      w.learn(deviation, holding);
      // The window standing furthest over its own limit speaks for the measurement.
      if (deviation >= limit && clear && (!finding || deviation / limit > finding.deviation / finding.limit))
        finding = { deviation, limit, current };
    }
    if (!full) return;
    c.update(
      t,
      finding
        ? {
            severity: finding.deviation >= 2 * finding.limit ? 'critical' : 'warning',
            observed: round(finding.deviation),
            threshold: round(finding.limit),
            beyond: finding.deviation - finding.limit,
            message: `AC phase currents ${Math.round(finding.deviation * 100)} % apart from their mean at ${round(finding.current, 1)} A (limit ${Math.round(finding.limit * 100)} %, judged above ${round(o.shareOfRating * rated, 1)} A)`,
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
