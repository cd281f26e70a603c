import type { Detection } from './events.js';
import { round } from './condition.js';

/**
 * The slow trend checks the batch scan runs over days of data at once (a streaming check sees
 * one reading at a time; these need a week of daily profiles or ten days of daily means).
 */

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
