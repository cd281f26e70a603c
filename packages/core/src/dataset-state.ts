import { BMS_SIGNALS, describeSignal, PCS_SIGNALS, parseCellSignal } from './catalog.js';
import type { StoredDevice } from './dataset-base.js';
import type { RowSourceMeta, SignalReader } from './index-format/index.js';
import { coverageOf } from './ingest/stats.js';
import type { DeviceInfo, OpenOptions, SignalInfo, SignalQuality } from './types.js';

export interface DatasetOptions extends OpenOptions {
  /** Memory for cached index blocks (bytes); default 64 MiB. */
  cacheBytes?: number;
  /** Offset of zone-less timestamps from UTC (ms); default 0. */
  utcOffsetMs?: number;
}

/** What the dataset knows of one signal file: where it is and its index's reader. */
export interface SignalState {
  csvPath: string;
  reader: SignalReader;
}

/** One cabinet as the files store serves it. */
export interface DeviceState extends StoredDevice<SignalReader> {
  signals: Map<string, SignalState>;
}

/** What a store keeps of a signal to describe it: its row metadata, gaps and ingest quality. */
export interface DescribedMeta extends RowSourceMeta {
  gaps: number;
  quality: SignalQuality;
}

/** A cabinet's description from its signals (in the map's order, which callers sort by name). */
export function deviceInfo(id: string, signals: ReadonlyMap<string, { reader: { meta: DescribedMeta } }>): DeviceInfo {
  const infos: SignalInfo[] = [];
  let first: number | null = null;
  let last: number | null = null;
  for (const [signal, state] of signals) {
    const meta = state.reader.meta;
    infos.push({
      signal,
      spec: describeSignal(signal),
      rows: meta.rows,
      first: meta.first,
      last: meta.last,
      medianPeriodMs: meta.medianPeriodMs,
      staleAfterMs: meta.staleAfterMs,
      coverage: coverageOf(meta.segments, meta.first, meta.last),
      gaps: meta.gaps,
      quality: meta.quality,
    });
    if (meta.first !== null && (first === null || meta.first < first)) first = meta.first;
    if (meta.last !== null && (last === null || meta.last > last)) last = meta.last;
  }
  return {
    id,
    first,
    last,
    signals: infos,
    hasBms: BMS_SIGNALS.some((s) => signals.has(s.signal)),
    hasPcs: PCS_SIGNALS.some((s) => signals.has(s.signal)),
    hasCells: [...signals.keys()].some((s) => parseCellSignal(s) !== undefined),
  };
}
