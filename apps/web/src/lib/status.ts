import { describeSignal, type SignalLimits } from '@bess/core/catalog';

export type Status = 'ok' | 'warning' | 'alarm' | 'unknown';

/** Where a reading stands against a signal's limits from the catalogue. */
export function statusOf(value: number | null | undefined, limits: SignalLimits | undefined): Status {
  if (value === null || value === undefined || Number.isNaN(value)) return 'unknown';
  if (!limits) return 'ok';
  if (
    (limits.alarmHigh !== undefined && value >= limits.alarmHigh) ||
    (limits.alarmLow !== undefined && value <= limits.alarmLow)
  )
    return 'alarm';
  if (
    (limits.warnHigh !== undefined && value >= limits.warnHigh) ||
    (limits.warnLow !== undefined && value <= limits.warnLow)
  )
    return 'warning';
  return 'ok';
}

const RANK: Record<Status, number> = { unknown: 0, ok: 1, warning: 2, alarm: 3 };

/** The worst status among several signals' latest readings. */
export function worstStatus(readings: { signal: string; value: number | null | undefined }[]): Status {
  let worst: Status = 'unknown';
  for (const r of readings) {
    const s = statusOf(r.value, describeSignal(r.signal).limits);
    if (RANK[s] > RANK[worst]) worst = s;
  }
  return worst;
}

/** Charging, discharging or idle, from pack current (positive discharges). */
export function powerState(current: number | null | undefined): 'charging' | 'discharging' | 'idle' | 'unknown' {
  if (current === null || current === undefined) return 'unknown';
  if (current > 5) return 'discharging';
  if (current < -5) return 'charging';
  return 'idle';
}

/** A cabinet silent for longer than this (a few of its one-minute records) is not reporting. */
export const NOT_REPORTING_AFTER_MS = 5 * 60_000;

/** A card's status: the worst of its latest readings against the limits and its active alarms. */
export function cardStatus(limitStatus: Status, activeAlarms: readonly ('info' | 'warning' | 'critical')[]): Status {
  const fromAlarms: Status = activeAlarms.includes('critical')
    ? 'alarm'
    : activeAlarms.includes('warning')
      ? 'warning'
      : 'unknown';
  return RANK[fromAlarms] > RANK[limitStatus] ? fromAlarms : limitStatus;
}
