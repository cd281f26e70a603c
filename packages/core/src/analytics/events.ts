import { createHash } from 'node:crypto';

export type Severity = 'info' | 'warning' | 'critical';

/**
 * Anomaly kinds. The first six carry the generator's fault labels, so detection
 * is scored against them; the rest are further conditions operators watch.
 */
export const ANOMALY_KINDS = [
  'cell_overtemp',
  'weak_cell_voltage',
  'current_spike',
  'sensor_stuck',
  'phase_imbalance',
  'offline_gap',
  'pack_undervoltage',
  'pack_overvoltage',
  'pack_overtemp',
  'pack_undertemp',
  'cell_voltage_spread',
  'thermal_drift',
  'cell_drift',
  'fast_temp_rise',
  'igbt_overtemp',
  'soc_out_of_band',
  'smoke_detected',
  'co_high',
  'voc_high',
  'fire_alarm',
  'detector_overtemp',
  'cell_overvoltage',
  'cell_temp_spread',
  'cell_undertemp',
  'enclosure_overtemp',
  'enclosure_humidity',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** One finding with its evidence: what was seen, against what limit, when. */
export interface AnomalyEvent {
  id: string;
  deviceId: string;
  kind: AnomalyKind;
  severity: Severity;
  signals: string[];
  start: number;
  end: number;
  /** The most extreme value seen (or the duration in minutes for gaps and stuck sensors). */
  observed: number;
  /** The limit crossed, or the expected band. */
  threshold: number | [number, number];
  message: string;
}

/** A single detection before merging: a time span where one condition held. */
export type Detection = Omit<AnomalyEvent, 'id' | 'deviceId'>;

/** The one order events are listed in: by start, then kind, then signals (batch and live alike). */
export function byStart(
  a: Pick<Detection, 'start' | 'kind' | 'signals'>,
  b: Pick<Detection, 'start' | 'kind' | 'signals'>,
): number {
  return a.start - b.start || a.kind.localeCompare(b.kind) || a.signals.join().localeCompare(b.signals.join());
}

/** Severities in order, for every comparison of them (batch, live, alarms). */
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/**
 * Consecutive detections of the same condition (kind and signals) less than
 * `gapMs` apart become one event, with the worst severity and the most extreme value.
 */
export function mergeDetections(deviceId: string, detections: Detection[], gapMs = 10 * 60_000): AnomalyEvent[] {
  const sorted = [...detections].sort((a, b) => a.start - b.start);
  const open = new Map<string, Detection>();
  const out: Detection[] = [];
  for (const d of sorted) {
    const key = `${d.kind}|${d.signals.join(',')}`;
    const current = open.get(key);
    if (current && d.start - current.end <= gapMs) {
      current.end = Math.max(current.end, d.end);
      if (SEVERITY_RANK[d.severity] > SEVERITY_RANK[current.severity]) {
        current.severity = d.severity;
        current.threshold = d.threshold;
        current.message = d.message;
      }
      if (excess({ observed: d.observed, threshold: current.threshold }) > excess(current))
        current.observed = d.observed;
      continue;
    }
    const copy = { ...d };
    open.set(key, copy);
    out.push(copy);
  }
  return out.sort(byStart).map((d) => ({ ...d, deviceId, id: eventId(deviceId, d) }));
}

/**
 * How far past its threshold (or outside its band) a detection went: the measure of
 * "worse" that works for high limits, low limits, bands and durations alike.
 */
function excess(d: Pick<Detection, 'observed' | 'threshold'>): number {
  if (typeof d.threshold === 'number') return Math.abs(d.observed - d.threshold);
  const [low, high] = d.threshold;
  return Math.max(low - d.observed, d.observed - high, 0);
}

/** Stable across runs: the same finding keeps its id, so clients can page and de-duplicate. */
export function eventId(deviceId: string, d: Pick<Detection, 'kind' | 'signals' | 'start'>): string {
  return createHash('sha1')
    .update(`${deviceId}|${d.kind}|${d.signals.join(',')}|${d.start}`)
    .digest('hex')
    .slice(0, 16);
}
