import { RECORD_SIGNALS, type BmsField, type PcsField, type RecordKind } from '../catalog.js';
import type { AlertUpdate, StreamingDetector } from '../analytics/streaming.js';

/** A record as tests write it: the fields a case needs, the rest absent. */
export type PartialRecord = { timestamp: string } & Partial<Record<BmsField | PcsField, number | null>>;

/** Pushes an aligned record's fields into a detector as the raw readings they show, in the record's field order. */
export function pushRecord(detector: StreamingDetector, kind: RecordKind, record: PartialRecord): AlertUpdate[] {
  const t = Date.parse(record.timestamp);
  const out: AlertUpdate[] = [];
  for (const spec of RECORD_SIGNALS[kind]) {
    const v = record[spec.field];
    if (typeof v === 'number') out.push(...detector.pushReading(spec.signal, t, v));
  }
  return out;
}
