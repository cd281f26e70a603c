import { CABINET, cellSignal, describeSignal } from '../catalog.js';
import type { BessDataset, DeviceInfo } from '../types.js';
import { driftDetections, ewmaDetections } from './detectors.js';
import { byStart, mergeDetections, type AnomalyEvent, type AnomalyKind, type Detection } from './events.js';
import { WARM_UP_MS, ReadingScan } from './feed.js';
import { resample, SLOT_MS } from './forecast.js';
import { createStreamingDetector } from './streaming.js';
import { TimeSlicer } from '../time-slicer.js';

/** The range is read a week at a time: a reading buffer of about 10 MB for a cabinet with its cell files. */
const SCAN_STEP_MS = 7 * 86_400_000;
/** Trend checks read a month at a time (each needs a week before it as its baseline). */
const CHUNK_MS = 30 * 86_400_000;
const MAX_ROWS = 5_000_000;

/**
 * Temperatures watched against their own daily cycle (EWMA control chart): the cells'
 * and the coolant's follow weather and cooling. The IGBT's follows each day's load,
 * which varies by design, so it is judged by its limit only.
 */
const EWMA_WATCH = ['bms1_cell_ave_t', 'ac1_outwater_t'];
const EWMA_PROFILE_DAYS = 7;
/** A shift smaller than this is weather, not a fault, whatever the statistics say. */
const EWMA_FLOOR_C = 3;

export interface DetectOptions {
  from?: number;
  to?: number;
  kinds?: readonly AnomalyKind[];
}

/**
 * Every anomaly of one device over a range, with its evidence: the streaming detector run over
 * the range's raw readings (from `WARM_UP_MS` before it, so what its checks learn is in place),
 * exactly as the live alerts run it, plus the slow trend checks that need days of data at once.
 */
export async function detectAnomalies(
  dataset: BessDataset,
  deviceId: string,
  options: DetectOptions = {},
): Promise<AnomalyEvent[]> {
  const info = dataset.device(deviceId);
  if (info.first === null || info.last === null) return [];
  const from = Math.max(options.from ?? info.first, info.first);
  const to = Math.min(options.to ?? info.last, info.last);
  const detector = createStreamingDetector({ deviceId, signals: info.signals });
  const scan = new ReadingScan(dataset, deviceId, detector, Math.max(info.first - 1, from - WARM_UP_MS), SCAN_STEP_MS);
  const events: AnomalyEvent[] = [];
  for (const u of [...(await scan.advanceTo(to)), ...detector.close()])
    if (u.status === 'closed' && u.event.end >= from) events.push(u.event);
  const slicer = new TimeSlicer();
  const trends: Detection[] = [];
  for (let start = from; start <= to; start += CHUNK_MS) {
    const end = Math.min(to, start + CHUNK_MS - 1);
    trends.push(...(await trendChunk(dataset, info, start, end, slicer)));
  }
  const all = [...events, ...mergeDetections(deviceId, trends)].sort(byStart);
  const wanted = options.kinds ? new Set(options.kinds) : null;
  return wanted ? all.filter((e) => wanted.has(e.kind)) : all;
}

/** The slow checks over one chunk: a temperature leaving its daily cycle, a cell drifting from its pack over days. */
async function trendChunk(
  dataset: BessDataset,
  info: DeviceInfo,
  from: number,
  to: number,
  slicer: TimeSlicer,
): Promise<Detection[]> {
  const has = new Map(info.signals.map((s) => [s.signal, s]));
  const out: Detection[] = [];
  if (info.hasCells) out.push(...(await cellDrift(dataset, info, from, to, slicer)));
  for (const signal of EWMA_WATCH) {
    const s = has.get(signal);
    if (!s) continue;
    // The control chart needs the week before the chunk as its baseline.
    const baseFrom = Math.max(info.first!, from - EWMA_PROFILE_DAYS * 86_400_000);
    await slicer.pause();
    const raw = await dataset.readSignal(info.id, signal, baseFrom, to, MAX_ROWS);
    const { start, values } = resample(raw.t, raw.v, baseFrom, to);
    const found = ewmaDetections(start, SLOT_MS, values, {
      signal,
      label: s.spec.label,
      unit: s.spec.unit,
      lambda: 0.1,
      L: 6,
      floor: EWMA_FLOOR_C,
      profileDays: EWMA_PROFILE_DAYS,
    });
    // A drift is slow by definition: an excursion shorter than an hour is something else.
    out.push(
      ...mergeDetections(info.id, found, 0)
        .filter((e) => e.start >= from && e.end - e.start >= 3_600_000)
        .map(({ id: _id, deviceId: _device, ...detection }) => detection),
    );
  }
  return out;
}

const DRIFT_WINDOW_DAYS = 10;

/** Cell voltages sliding away from their pack over days (one daily mean per cell). */
async function cellDrift(
  dataset: BessDataset,
  info: DeviceInfo,
  from: number,
  to: number,
  slicer: TimeSlicer,
): Promise<Detection[]> {
  const dayStart = Math.floor(from / 86_400_000) * 86_400_000;
  const dayCount = Math.floor((to - dayStart) / 86_400_000) + 1;
  if (dayCount < DRIFT_WINDOW_DAYS) return [];
  const days = Array.from({ length: dayCount }, (_, d) => dayStart + d * 86_400_000);
  const present = new Set(info.signals.map((s) => s.signal));
  const out: Detection[] = [];
  for (let pack = 1; pack <= CABINET.packs; pack++) {
    const cells = [];
    for (let cell = 1; cell <= CABINET.cellsPerPack; cell++) {
      const signal = cellSignal(pack, cell, 'voltage');
      if (!present.has(signal)) continue;
      await slicer.pause();
      const series = await dataset.downsample(
        info.id,
        signal,
        dayStart,
        dayStart + dayCount * 86_400_000 - 1,
        dayCount,
      );
      const values: (number | null)[] = new Array<number | null>(dayCount).fill(null);
      series.t.forEach((t, i) => (values[Math.round((t - dayStart) / 86_400_000)] = series.mean[i]!));
      cells.push({ signal, label: describeSignal(signal).label, values });
    }
    // 1 mV a day that has already moved the cell 10 mV: far beyond a healthy pack's steady offsets.
    out.push(
      ...driftDetections(days, cells, {
        windowDays: DRIFT_WINDOW_DAYS,
        minSlopePerDay: 0.001,
        minChange: 0.01,
        unit: 'V',
        scale: 1000,
        scaledUnit: 'mV',
      }),
    );
  }
  return out;
}
