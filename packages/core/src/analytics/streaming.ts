import { RECORD_SIGNALS, type RecordKind } from '../catalog.js';
import type { AlignedRecord } from '../types.js';
import { thresholdDetections } from './detectors.js';
import { eventId, type AnomalyEvent, type AnomalyKind } from './events.js';

/** Record fields watched live, and the kind their limits mean (the same as the batch detector's). */
const LIVE_KINDS: Record<string, { high?: AnomalyKind; low?: AnomalyKind }> = {
  cell_max_temp: { high: 'cell_overtemp' },
  cell_min_voltage: { low: 'weak_cell_voltage' },
  cell_voltage_diff: { high: 'cell_voltage_spread' },
  current: { high: 'current_spike', low: 'current_spike' },
  temp_igbt: { high: 'igbt_overtemp' },
  soc: { high: 'soc_out_of_band', low: 'soc_out_of_band' },
};

/**
 * The streaming detector: fed one aligned record at a time, it reports each
 * condition when it starts (and again if it worsens to critical), using the same
 * limits and threshold logic as the batch detector. A few comparisons per record.
 */
export class RecordAlerts {
  private readonly open = new Map<string, AnomalyEvent>();

  constructor(
    private readonly deviceId: string,
    private readonly kind: RecordKind,
  ) {}

  push(record: AlignedRecord): AnomalyEvent[] {
    const t = Date.parse(record.timestamp);
    const out: AnomalyEvent[] = [];
    for (const spec of RECORD_SIGNALS[this.kind]) {
      const rule = LIVE_KINDS[spec.field!];
      const value = record[spec.field!];
      if (!rule || typeof value !== 'number') continue;
      const found = thresholdDetections(
        { t: Float64Array.of(t), v: Float64Array.of(value) },
        { signal: spec.signal, limits: spec.limits ?? {}, ...(rule.high ? { kindHigh: rule.high } : {}), ...(rule.low ? { kindLow: rule.low } : {}), maxGapMs: 0, label: spec.label, unit: spec.unit },
      );
      const key = spec.signal;
      if (found.length === 0) {
        this.open.delete(key);
        continue;
      }
      const d = found[0]!;
      const current = this.open.get(key);
      if (current && (current.severity === d.severity || d.severity === 'warning')) {
        current.end = t;
        continue;
      }
      const event: AnomalyEvent = { ...d, deviceId: this.deviceId, id: eventId(this.deviceId, d) };
      this.open.set(key, event);
      out.push(event);
    }
    return out;
  }
}
