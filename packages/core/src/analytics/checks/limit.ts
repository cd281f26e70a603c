import type { SignalLimits, SignalSpec } from '../../catalog.js';
import { round, type Condition, type Finding, type See } from '../condition.js';
import { releaseLevel } from '../rules.js';

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
): See {
  const warn = high ? limits.warnHigh : limits.warnLow;
  const alarm = high ? limits.alarmHigh : limits.alarmLow;
  const trigger = warn ?? alarm;
  const release = releaseLevel(limits, high);
  if (trigger === undefined || release === undefined) return () => null;
  const past = (x: number, limit: number) => (high ? x >= limit : x <= limit);
  /** The last finding, which an unjudged reading carries on (a resting limit during a load pulse). */
  let heldFinding: Finding | null = null;
  return (t, v) => {
    if (judged && !judged(t)) return c.holding ? heldFinding : null;
    if (!past(v, c.holding ? release : trigger) || explainedBy?.holding) return null;
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
