import type { SignalLimits } from '../catalog.js';
import type { Series } from '../types.js';
import type { AnomalyKind, Detection, Severity } from './events.js';
import { PHASE_IMBALANCE, releaseLevel } from './rules.js';

/**
 * Detectors over one signal's raw readings (time-sorted typed arrays). Each is
 * a single pass, or a pass with a small trailing window, so a year of a device
 * costs seconds. They return detections; `mergeDetections` joins them into events.
 */

export interface ThresholdOptions {
  signal: string;
  limits: SignalLimits;
  kindHigh?: AnomalyKind;
  kindLow?: AnomalyKind;
  /** A reading this long past its predecessor starts a new detection. */
  maxGapMs: number;
  /** Ignore excursions shorter than this (one noisy sample is not an alarm). */
  minDurationMs?: number;
  label: string;
  unit: string;
}

/** Readings past warning/alarm limits, as spans; severity from the worst reading in the span. */
export function thresholdDetections(series: Series, o: ThresholdOptions): Detection[] {
  const out: Detection[] = [];
  const { t, v } = series;
  const sides: { kind?: AnomalyKind; high: boolean; warn?: number; alarm?: number }[] = [
    { kind: o.kindHigh, high: true, warn: o.limits.warnHigh, alarm: o.limits.alarmHigh },
    { kind: o.kindLow, high: false, warn: o.limits.warnLow, alarm: o.limits.alarmLow },
  ];
  for (const side of sides) {
    const trigger = side.warn ?? side.alarm;
    if (!side.kind || trigger === undefined) continue;
    const past = (x: number, limit: number) => (side.high ? x >= limit : x <= limit);
    let start = -1;
    let worst = 0;
    let last = 0;
    const flush = () => {
      if (start < 0) return;
      if (last - start >= (o.minDurationMs ?? 0)) {
        const critical = side.alarm !== undefined && past(worst, side.alarm);
        const limit = critical ? side.alarm! : trigger;
        out.push({
          kind: side.kind!,
          severity: critical ? 'critical' : 'warning',
          signals: [o.signal],
          start,
          end: last,
          observed: worst,
          threshold: limit,
          message: `${o.label} ${side.high ? 'reached' : 'fell to'} ${round(worst)} ${o.unit} (${side.high ? 'limit' : 'floor'} ${limit} ${o.unit})`,
        });
      }
      start = -1;
    };
    // Hysteresis: an open span continues until the value is back inside the release level.
    const release = releaseLevel(o.limits, side.high) ?? trigger;
    for (let i = 0; i < t.length; i++) {
      const x = v[i]!;
      if (start >= 0 && t[i]! - last > o.maxGapMs) flush();
      if (past(x, start >= 0 ? release : trigger)) {
        if (start < 0) {
          start = t[i]!;
          worst = x;
        }
        if (side.high ? x > worst : x < worst) worst = x;
        last = t[i]!;
      } else {
        flush();
      }
    }
    flush();
  }
  return out;
}

/**
 * Sudden spikes: a reading far from the median of the readings before it, in
 * units of their median absolute deviation (a robust z-score that adapts to each
 * signal's own noise and level). `floor` keeps a flat signal from flagging a 0.1 step.
 */
export function spikeDetections(
  series: Series,
  o: { signal: string; kind: AnomalyKind; window: number; z: number; floor: number; label: string; unit: string },
): Detection[] {
  const out: Detection[] = [];
  const { t, v } = series;
  const window = new Float64Array(o.window);
  for (let i = o.window; i < t.length; i++) {
    window.set(v.subarray(i - o.window, i));
    const spike = spikeAgainst(window, v[i]!, o);
    if (spike)
      out.push({
        kind: o.kind,
        severity: spike.severity,
        signals: [o.signal],
        start: t[i]!,
        end: t[i]!,
        observed: v[i]!,
        threshold: spike.threshold,
        message: spike.message,
      });
  }
  return out;
}

/**
 * Whether `value` is a spike against the readings in `window` (which it sorts and then
 * overwrites: a scratch copy): its robust z-score, from the window's median and its median
 * absolute deviation (x1.4826, at least `floor`), reaches `z`. Batch and live detection both.
 */
export function spikeAgainst(
  window: Float64Array,
  value: number,
  o: { z: number; floor: number; label: string; unit: string },
): { severity: Severity; threshold: [number, number]; message: string } | null {
  window.sort();
  const mid = window.length >> 1;
  const median = window[mid]!;
  for (let k = 0; k < window.length; k++) window[k] = Math.abs(window[k]! - median);
  window.sort();
  const mad = Math.max(window[mid]! * 1.4826, o.floor);
  const score = Math.abs(value - median) / mad;
  if (score < o.z) return null;
  return {
    severity: score >= 2 * o.z ? 'critical' : 'warning',
    threshold: [round(median - o.z * mad), round(median + o.z * mad)],
    message: `${o.label} jumped to ${round(value)} ${o.unit}, ${round(score)}x its usual spread from ${round(median)} ${o.unit}`,
  };
}

/**
 * How long a signal normally holds one value, learned from its own runs: a
 * histogram of run lengths (factor-2 bins) weighted by the time spent in them.
 * A pack current rests at 0 A for hours every night, a temperature changes every
 * few minutes; each is judged against itself.
 */
export class RunProfile {
  private readonly weight = new Float64Array(32);
  private total = 0;

  add(durationMs: number): void {
    if (!(durationMs > 0)) return;
    this.weight[RunProfile.bin(durationMs)]! += durationMs;
    this.total += durationMs;
  }

  /** Time observed so far (ms). */
  get observedMs(): number {
    return this.total;
  }

  /**
   * The run length below which `share` of the time was spent (upper edge of its bin, ms),
   * leaving out one run of `excludingMs`: the run being judged must not teach its own
   * length as normal (a 6-hour freeze is a tenth of a 3-day series).
   */
  quantile(share: number, excludingMs = 0): number {
    const skipBin = excludingMs > 0 ? RunProfile.bin(excludingMs) : -1;
    const total = this.total - (skipBin >= 0 ? excludingMs : 0);
    let sum = 0;
    for (let b = 0; b < this.weight.length; b++) {
      sum += this.weight[b]! - (b === skipBin ? excludingMs : 0);
      if (sum >= share * total) return 1000 * 2 ** (b + 1);
    }
    return Infinity;
  }

  /** How long a hold must last to count as stuck: `STUCK_FACTOR` times the usual holds (leaving out `excludingMs`), at least `minMs`. */
  stuckLimit(minMs: number, excludingMs = 0): number {
    return Math.max(minMs, STUCK_FACTOR * this.quantile(STUCK_SHARE, excludingMs));
  }

  private static bin(durationMs: number): number {
    return Math.min(31, Math.max(0, Math.floor(Math.log2(durationMs / 1000))));
  }
}

/** Stuck when a run is this many times longer than the runs 95 % of the signal's time is spent in. */
export const STUCK_FACTOR = 3;
const STUCK_SHARE = 0.95;
/**
 * A signal "normally moves" when at least this share of its readings differ from the
 * one before. Slower ones (SOH, a spread at its resolution step) hold values for days by nature.
 */
export const MOVING_SHARE = 0.3;

/**
 * A sensor stuck at one value: a run of one repeated reading longer than
 * `minDurationMs` and than `STUCK_FACTOR` times the signal's usual holds (its
 * `RunProfile` over the whole series, so pass a baseline before the range judged).
 * Runs break at silences longer than `maxGapMs`; only runs ending at or after
 * `judgeFrom` are reported.
 */
export function stuckDetections(
  series: Series,
  o: {
    signal: string;
    minDurationMs: number;
    minReadings: number;
    maxGapMs: number;
    judgeFrom: number;
    minBaselineMs: number;
    label: string;
  },
): Detection[] {
  const { t, v } = series;
  if (t.length < o.minReadings * 2) return [];
  const runs: [first: number, last: number, heldMs: number][] = [];
  const profile = new RunProfile();
  let runStart = 0;
  for (let i = 1; i <= t.length; i++) {
    const broken = i === t.length || t[i]! - t[i - 1]! > o.maxGapMs;
    if (!broken && v[i] === v[runStart]) continue;
    // A run lasts until the reading that differs (or its last reading, at a silence or the end).
    const end = broken ? t[i - 1]! : t[i]!;
    profile.add(end - t[runStart]!);
    if (i - runStart >= o.minReadings) runs.push([runStart, i - 1, end - t[runStart]!]);
    runStart = i;
  }
  let changes = 0;
  for (let i = 1; i < t.length; i++) if (v[i] !== v[i - 1]) changes++;
  if (profile.observedMs < o.minBaselineMs || changes / (t.length - 1) < MOVING_SHARE) return [];
  const out: Detection[] = [];
  for (const [first, last, heldMs] of runs) {
    const duration = t[last]! - t[first]!;
    if (duration < o.minDurationMs || t[last]! < o.judgeFrom) continue;
    // Judged against every other run: a hold that recurs (SOC resting each night) stays normal, a one-off freeze does not.
    const limit = profile.stuckLimit(o.minDurationMs, heldMs);
    if (duration < limit) continue;
    out.push({
      kind: 'sensor_stuck',
      severity: 'warning',
      signals: [o.signal],
      start: t[first]!,
      end: t[last]!,
      observed: round(duration / 60_000),
      threshold: round(limit / 60_000),
      message: `${o.label} repeated ${v[first]} for ${Math.round(duration / 60_000)} min (${last - first + 1} readings); it normally holds a value under ${round(limit / STUCK_FACTOR / 60_000, 1)} min`,
    });
  }
  return out;
}

/** Temperature rising faster than `perMinute` over `windowMs`. */
export function fastRiseDetections(
  series: Series,
  o: { signal: string; perMinute: number; windowMs: number; label: string },
): Detection[] {
  const { t, v } = series;
  const out: Detection[] = [];
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while (t[i]! - t[j]! > o.windowMs) j++;
    const minutes = (t[i]! - t[j]!) / 60_000;
    if (minutes < o.windowMs / 120_000) continue;
    const rate = (v[i]! - v[j]!) / minutes;
    if (rate >= o.perMinute) {
      out.push({
        kind: 'fast_temp_rise',
        severity: rate >= 2 * o.perMinute ? 'critical' : 'warning',
        signals: [o.signal],
        start: t[j]!,
        end: t[i]!,
        observed: round(rate),
        threshold: o.perMinute,
        message: `${o.label} rising ${round(rate)} °C/min (limit ${o.perMinute} °C/min)`,
      });
    }
  }
  return out;
}

/** Silences: consecutive readings further apart than `minGapMs`. */
export function gapDetections(series: Series, o: { signals: string[]; minGapMs: number; label: string }): Detection[] {
  const { t } = series;
  const out: Detection[] = [];
  for (let i = 1; i < t.length; i++) {
    const gap = t[i]! - t[i - 1]!;
    if (gap > o.minGapMs) {
      out.push({
        kind: 'offline_gap',
        severity: gap > 6 * o.minGapMs ? 'critical' : 'warning',
        signals: o.signals,
        start: t[i - 1]!,
        end: t[i]!,
        observed: round(gap / 60_000),
        threshold: round(o.minGapMs / 60_000),
        message: `${o.label} silent for ${Math.round(gap / 60_000)} min`,
      });
    }
  }
  return out;
}

/**
 * PCS phase imbalance over aligned phase currents: the largest deviation of a
 * phase from the three-phase mean, relative to it, while current is flowing.
 */
export function imbalanceDetections(
  t: readonly number[],
  phases: readonly [readonly (number | null)[], readonly (number | null)[], readonly (number | null)[]],
  o: { ratio: number; minCurrent: number; minDurationMs: number; signals?: readonly string[] },
): Detection[] {
  const out: Detection[] = [];
  let start = -1;
  let last = -1;
  let worst = 0;
  const flush = () => {
    if (start >= 0 && last - start >= o.minDurationMs) {
      out.push({
        kind: 'phase_imbalance',
        severity: worst >= 2 * o.ratio ? 'critical' : 'warning',
        signals: [...(o.signals ?? PHASE_IMBALANCE.signals)],
        start,
        end: last,
        observed: round(worst),
        threshold: o.ratio,
        message: `AC phase currents ${Math.round(worst * 100)} % apart from their mean (limit ${Math.round(o.ratio * 100)} %)`,
      });
    }
    start = -1;
  };
  for (let i = 0; i < t.length; i++) {
    const a = phases[0][i];
    const b = phases[1][i];
    const c = phases[2][i];
    if (a == null || b == null || c == null) continue;
    const mean = (a + b + c) / 3;
    const deviation =
      mean >= o.minCurrent ? Math.max(Math.abs(a - mean), Math.abs(b - mean), Math.abs(c - mean)) / mean : 0;
    if (deviation >= o.ratio) {
      if (start < 0) {
        start = t[i]!;
        worst = deviation;
      }
      worst = Math.max(worst, deviation);
      last = t[i]!;
    } else if (mean >= o.minCurrent) {
      flush();
    }
  }
  flush();
  return out;
}

export function round(x: number, digits = 3): number {
  return Number(x.toFixed(digits));
}

/**
 * Cells out of line with their pack: per time bucket, each cell's mean against
 * the median of its pack's cells, in units of the pack's median absolute
 * deviation, and never closer than `floor` (a healthy pack's spread is a few mV
 * or a degree or two). `cells` are bucket means on one shared bucket grid.
 */
export function packOutlierDetections(
  t: readonly number[],
  cells: readonly { signal: string; label: string; values: readonly (number | null)[] }[],
  o: { k: number; floor: number; bucketMs: number; unit: string; lowOnly?: boolean },
): Detection[] {
  const out: Detection[] = [];
  const column: number[] = [];
  for (let b = 0; b < t.length; b++) {
    column.length = 0;
    for (const c of cells) if (c.values[b] != null) column.push(c.values[b]!);
    if (column.length < 5) continue;
    column.sort((x, y) => x - y);
    const median = column[column.length >> 1]!;
    const deviations = column.map((x) => Math.abs(x - median)).sort((x, y) => x - y);
    const limit = Math.max(o.k * 1.4826 * deviations[deviations.length >> 1]!, o.floor);
    for (const c of cells) {
      const x = c.values[b];
      if (x == null) continue;
      const deviation = x - median;
      if (Math.abs(deviation) < limit || (o.lowOnly && deviation > 0) || (!o.lowOnly && deviation < 0)) continue;
      out.push({
        kind: 'cell_outlier',
        severity: Math.abs(deviation) >= 2 * limit ? 'critical' : 'warning',
        signals: [c.signal],
        start: t[b]!,
        end: t[b]! + o.bucketMs,
        observed: round(x),
        threshold: [round(median - limit), round(median + limit)],
        message: `${c.label} ${round(x)} ${o.unit}, ${round(Math.abs(deviation) * (o.unit === 'V' ? 1000 : 1), 1)} ${o.unit === 'V' ? 'mV' : o.unit} ${deviation < 0 ? 'below' : 'above'} its pack's median (band ±${round(limit * (o.unit === 'V' ? 1000 : 1), 1)} ${o.unit === 'V' ? 'mV' : o.unit})`,
      });
    }
  }
  return out;
}

/**
 * EWMA control limits on a signal's departure from its own daily cycle: the
 * residual is each 15-minute mean minus the median of the same slot over the
 * previous `profileDays`; its EWMA (weight `lambda`) alarms beyond `L` standard
 * deviations of an EWMA of residuals as noisy as the trailing week's (robust MAD),
 * and never for less than `floor`. This catches slow shifts (a cooling loop losing
 * capacity) that no fixed limit sees until it is too late.
 */
export function ewmaDetections(
  start: number,
  slotMs: number,
  values: Float64Array,
  o: { signal: string; label: string; unit: string; lambda: number; L: number; floor: number; profileDays: number },
): Detection[] {
  const perDay = Math.round(86_400_000 / slotMs);
  const out: Detection[] = [];
  const residuals: number[] = [];
  let ewma = 0;
  let limit = NaN;
  for (let k = perDay * o.profileDays; k < values.length; k++) {
    const x = values[k]!;
    if (Number.isNaN(x)) continue;
    const same: number[] = [];
    for (let d = 1; d <= o.profileDays; d++)
      if (!Number.isNaN(values[k - d * perDay]!)) same.push(values[k - d * perDay]!);
    if (same.length < 3) continue;
    same.sort((a, b) => a - b);
    const r = x - same[same.length >> 1]!;
    residuals.push(r);
    if (residuals.length > perDay * o.profileDays) residuals.shift();
    ewma = o.lambda * r + (1 - o.lambda) * ewma;
    if (residuals.length < perDay) continue;
    // The noise level moves slowly: re-estimate it once a day of slots, not every slot.
    if (Number.isNaN(limit) || k % perDay === 0) {
      const sorted = [...residuals].sort((a, b) => a - b);
      const med = sorted[sorted.length >> 1]!;
      const mad = sorted.map((v) => Math.abs(v - med)).sort((a, b) => a - b)[sorted.length >> 1]! * 1.4826;
      limit = Math.max(o.L * mad * Math.sqrt(o.lambda / (2 - o.lambda)), o.floor);
    }
    if (Math.abs(ewma) > limit) {
      const t = start + k * slotMs;
      out.push({
        kind: 'thermal_drift',
        severity: Math.abs(ewma) > 2 * limit ? 'critical' : 'warning',
        signals: [o.signal],
        start: t,
        end: t + slotMs,
        observed: round(ewma),
        threshold: [round(-limit), round(limit)],
        message: `${o.label} ${round(Math.abs(ewma), 1)} ${o.unit} ${ewma > 0 ? 'above' : 'below'} its usual daily cycle (control limit ±${round(limit, 1)} ${o.unit})`,
      });
    }
  }
  return out;
}

/**
 * Cells drifting away from their pack over days: each cell's daily mean minus the
 * pack's median that day, and the Theil–Sen slope of that deviation over the last
 * `windowDays`. A steady slide of `minSlopePerDay` that has already moved the cell
 * `minChange` is a cell ageing faster than its neighbours (or a failing sensor).
 */
export function driftDetections(
  days: readonly number[],
  cells: readonly { signal: string; label: string; values: readonly (number | null)[] }[],
  o: { windowDays: number; minSlopePerDay: number; minChange: number; unit: string; scale: number; scaledUnit: string },
): Detection[] {
  const out: Detection[] = [];
  const deviation = cells.map(() => [] as (number | null)[]);
  for (let d = 0; d < days.length; d++) {
    const column = cells
      .map((c) => c.values[d])
      .filter((v): v is number => v != null)
      .sort((a, b) => a - b);
    const median = column.length >= 5 ? column[column.length >> 1]! : null;
    cells.forEach((c, i) => deviation[i]!.push(median === null || c.values[d] == null ? null : c.values[d]! - median));
  }
  for (let i = 0; i < cells.length; i++) {
    const pts = deviation[i]!.map((v, d) => ({ d, v }))
      .slice(-o.windowDays)
      .filter((p): p is { d: number; v: number } => p.v !== null);
    if (pts.length < o.windowDays * 0.7) continue;
    const slopes: number[] = [];
    for (let a = 0; a < pts.length; a++)
      for (let b = a + 1; b < pts.length; b++) slopes.push((pts[b]!.v - pts[a]!.v) / (pts[b]!.d - pts[a]!.d));
    slopes.sort((x, y) => x - y);
    const slope = slopes[slopes.length >> 1]!;
    const change = pts.at(-1)!.v - pts[0]!.v;
    if (Math.abs(slope) < o.minSlopePerDay || Math.abs(change) < o.minChange || Math.sign(slope) !== Math.sign(change))
      continue;
    out.push({
      kind: 'cell_drift',
      severity: Math.abs(change) >= 2 * o.minChange ? 'critical' : 'warning',
      signals: [cells[i]!.signal],
      start: days[pts[0]!.d]!,
      end: days[pts.at(-1)!.d]! + 86_400_000,
      observed: round(slope * o.scale, 2),
      threshold: round(o.minSlopePerDay * o.scale, 2),
      message: `${cells[i]!.label} drifting ${round(slope * o.scale, 2)} ${o.scaledUnit}/day against its pack (${round(change * o.scale, 1)} ${o.scaledUnit} over ${pts.length} days)`,
    });
  }
  return out;
}
