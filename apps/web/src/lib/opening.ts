import { fieldSpec, type RecordKind } from '@bess/core/catalog';
import type { TimeRange } from './route';

/**
 * What each view asks for first, defined once for the view and for the page's first requests
 * (lib/first-data.ts), so both name the same queries. Light on purpose: it loads before React.
 */

export const DAY = 86_400_000;

/** Records of Live's opening page: two hours of 30-second PCS records, with room to spare. */
const TAIL_RECORDS = 500;

/** The query for a kind's newest page, which Live opens on. */
export const liveTailInput = (deviceId: string) => ({ deviceId, tail: true, batchSize: TAIL_RECORDS });

/** History's fixed charts: one signal each, mean line inside its min–max band so spikes stay visible. */
export const HISTORY_FIELDS: { kind: RecordKind; field: string }[] = [
  { kind: 'bms', field: 'soc' },
  { kind: 'bms', field: 'voltage' },
  { kind: 'bms', field: 'current' },
  { kind: 'bms', field: 'cell_max_temp' },
  { kind: 'bms', field: 'cell_voltage_diff' },
  { kind: 'pcs', field: 'apparent_power' },
  { kind: 'pcs', field: 'temp_igbt' },
];
export const FIXED_SIGNALS = HISTORY_FIELDS.map((f) => fieldSpec(f.kind, f.field)!.signal);
export const MAX_POINTS = 600;

/** The span a cabinet's data covers (epoch ms), from the summary's first and last reading; a day to now without them. */
export function dataSpan(first: string | null, last: string | null): { start: number; end: number } {
  const end = last ? Date.parse(last) : Date.now();
  return { start: first ? Date.parse(first) : end - DAY, end };
}

/** The range History opens on: a link's, else the last day up to the newest reading. */
export function openingRange(
  first: string | null,
  last: string | null,
  linked?: TimeRange,
): { from: number; to: number; preset: string } {
  if (linked) return { ...linked, preset: 'custom' };
  const { start, end } = dataSpan(first, last);
  return { from: Math.max(start, end - DAY), to: end, preset: 'day' };
}

/** The signals a link adds beside the fixed charts, those the cabinet logs. */
export const linkedExtras = (linked: readonly string[], catalogue: readonly { signal: string }[]): string[] =>
  linked.filter((s) => catalogue.some((c) => c.signal === s));

/** History's queries for a range: its charts' series and the anomalies marked on them. */
export function historyInputs(deviceId: string, extra: readonly string[], range: TimeRange) {
  return {
    series: { deviceId, signals: [...FIXED_SIGNALS, ...extra], from: range.from, to: range.to, maxPoints: MAX_POINTS },
    anomalies: { deviceId, from: range.from, to: range.to, limit: 500 },
  };
}
