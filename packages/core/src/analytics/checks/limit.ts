import type { SignalLimits, SignalSpec } from '../../catalog.js';
import { round, type Condition, type Finding, type See } from '../condition.js';
import { releaseLevel, type PackRelation } from '../rules.js';
import { CELL_VS_PACK } from './cell-pack.js';
import type { Latest } from './context.js';

/**
 * A catalogue limit, one side, with hysteresis: crossing the warning (or alarm) level opens,
 * coming back past the release level clears. Critical past the alarm level. A pack-wide
 * condition that explains a single cell's (an empty pack, not a weak cell) silences it.
 */
export function limitCheck(
  spec: SignalSpec,
  limits: SignalLimits,
  high: boolean,
  c: Condition,
  explainedBy?: Condition,
  /** When given, the limit is judged only while this holds (a resting value); otherwise the condition keeps its state. */
  judged?: (t: number) => boolean,
  /** When given, the limit speaks only for a reading past it this accepts (`standsApart`), given the signal's resolution. */
  applies?: (v: number, resolution: number) => boolean,
): See {
  const warn = high ? limits.warnHigh : limits.warnLow;
  const alarm = high ? limits.alarmHigh : limits.alarmLow;
  const trigger = warn ?? alarm;
  const release = releaseLevel(limits, high);
  if (trigger === undefined || release === undefined) return () => null;
  const past = (x: number, limit: number) => (high ? x >= limit : x <= limit);
  /** The last finding, which an unjudged reading carries on (a resting limit during a load pulse). */
  let heldFinding: Finding | null = null;
  let last = NaN;
  let resolution = Infinity;
  return (t, v) => {
    if (applies) {
      const step = Math.abs(v - last);
      if (step > 1e-9 && step < resolution) resolution = step;
      last = v;
    }
    if (judged && !judged(t)) return c.holding ? heldFinding : null;
    if (!past(v, c.holding ? release : trigger) || explainedBy?.holding) return null;
    if (applies && !applies(v, resolution)) return null;
    const critical = alarm !== undefined && past(v, alarm);
    const limit = critical ? alarm : trigger;
    return (heldFinding = {
      severity: critical ? 'critical' : 'warning',
      observed: v,
      threshold: limit,
      beyond: high ? v - trigger : trigger - v,
      message: `${spec.label} ${high ? 'reached' : 'fell to'} ${round(v)} ${spec.unit} (${high ? 'limit' : 'floor'} ${limit} ${spec.unit})`,
    });
  };
}

/**
 * Whether a cell temperature stands apart from the pack (one hot cell) or is in line with it (the
 * whole pack hot), by the newest average cell: apart when it is more than the cell-vs-pack floor
 * (plus one step of resolution, which rounding can add) above it. Without an average, apart.
 */
export function standsApart(average: Latest, relation: PackRelation): (v: number, resolution: number) => boolean {
  const floor = CELL_VS_PACK.temperature.floor;
  return (v, resolution) => {
    const apart = Number.isNaN(average.v) || v - average.v >= floor + (Number.isFinite(resolution) ? resolution : 0);
    return apart === (relation === 'apart');
  };
}
