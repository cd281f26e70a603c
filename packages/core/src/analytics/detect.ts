import { CABINET, cellSignal, describeSignal, parseCellSignal } from '../catalog.js';
import type { BessDataset, DeviceInfo, Series } from '../types.js';
import {
  driftDetections,
  ewmaDetections,
  fastRiseDetections,
  gapDetections,
  imbalanceDetections,
  packOutlierDetections,
  spikeDetections,
  stuckDetections,
  thresholdDetections,
} from './detectors.js';
import { mergeDetections, type AnomalyEvent, type AnomalyKind, type Detection } from './events.js';
import { resample, SLOT_MS } from './forecast.js';
import { TimeSlicer } from '../time-slicer.js';
import {
  cellSides,
  CURRENT_SPIKE,
  DEVICE_SILENCE_MS,
  FAST_RISE,
  HEARTBEAT_SIGNALS,
  LIMIT_RULES,
  PACK_WIDE,
  PHASE_IMBALANCE,
  ruleLimits,
  STUCK_BASELINE_MS,
  STUCK_MIN_BASELINE_MS,
  STUCK_MIN_MS,
  watchForStuck,
} from './rules.js';

/** Scanned a month at a time, with an overlap so windows and runs that straddle chunks are seen whole. */
const CHUNK_MS = 30 * 86_400_000;
const OVERLAP_MS = 6 * 3_600_000;
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

/** Every anomaly of one device over a range, merged into events with their evidence. */
export async function detectAnomalies(
  dataset: BessDataset,
  deviceId: string,
  options: DetectOptions = {},
): Promise<AnomalyEvent[]> {
  const info = dataset.device(deviceId);
  if (info.first === null || info.last === null) return [];
  const from = Math.max(options.from ?? info.first, info.first);
  const to = Math.min(options.to ?? info.last, info.last);
  const detections: Detection[] = [];
  // Each read of the scan is a step: the slicer lets requests in between steps.
  const slicer = new TimeSlicer();
  for (let start = from; start <= to; start += CHUNK_MS) {
    const end = Math.min(to, start + CHUNK_MS - 1);
    const found = await detectChunk(dataset, info, Math.max(from, start - OVERLAP_MS), end, slicer);
    detections.push(...found.filter((d) => d.end >= start));
  }
  await slicer.pause();
  const events = explainedByPack(mergeDetections(deviceId, detections));
  const wanted = options.kinds ? new Set(options.kinds) : null;
  return wanted ? events.filter((e) => wanted.has(e.kind)) : events;
}

/** Single-cell events during a pack-wide one of the same quantity say nothing more: 520 "weak cells" in an empty pack are one event. */
function explainedByPack(events: AnomalyEvent[]): AnomalyEvent[] {
  const packWide = events.filter((e) => PACK_WIDE[e.kind]);
  if (packWide.length === 0) return events;
  return events.filter(
    (e) => !packWide.some((p) => PACK_WIDE[p.kind] === e.kind && e.start <= p.end && e.end >= p.start),
  );
}

async function detectChunk(
  dataset: BessDataset,
  info: DeviceInfo,
  from: number,
  to: number,
  slicer: TimeSlicer,
): Promise<Detection[]> {
  const has = new Map(info.signals.map((s) => [s.signal, s]));
  const read = async (signal: string): Promise<Series> => {
    await slicer.pause();
    return dataset.readSignal(info.id, signal, from, to, MAX_ROWS);
  };
  const out: Detection[] = [];

  for (const rule of LIMIT_RULES) {
    const s = has.get(rule.signal);
    if (!s) continue;
    const spec = describeSignal(rule.signal);
    out.push(
      ...thresholdDetections(await read(rule.signal), {
        signal: rule.signal,
        limits: ruleLimits(rule),
        ...(rule.high ? { kindHigh: rule.high } : {}),
        ...(rule.low ? { kindLow: rule.low } : {}),
        maxGapMs: (s.staleAfterMs ?? 600_000) * 2,
        ...(rule.minDurationMs ? { minDurationMs: rule.minDurationMs } : {}),
        label: spec.label,
        unit: spec.unit,
      }),
    );
  }

  // Cells: each cell against the cell limits, both sides, so the weak, hot, overcharged or cold cell itself is named.
  for (const s of info.signals) {
    const cell = parseCellSignal(s.signal);
    if (!cell) continue;
    const series = await read(s.signal);
    for (const side of cellSides(cell.quantity)) {
      out.push(
        ...thresholdDetections(series, {
          signal: s.signal,
          limits: s.spec.limits ?? {},
          ...(side.high ? { kindHigh: side.kind } : { kindLow: side.kind }),
          maxGapMs: (s.staleAfterMs ?? 1_800_000) * 2,
          minDurationMs: side.minDurationMs,
          label: s.spec.label,
          unit: s.spec.unit,
        }),
      );
    }
  }

  if (info.hasCells) {
    out.push(...(await packOutliers(dataset, info, from, to, slicer)));
    out.push(...(await cellDrift(dataset, info, from, to, slicer)));
  }

  if (has.has(CURRENT_SPIKE.signal)) {
    out.push(
      ...spikeDetections(await read(CURRENT_SPIKE.signal), {
        ...CURRENT_SPIKE,
        kind: 'current_spike',
        label: describeSignal(CURRENT_SPIKE.signal).label,
        unit: 'A',
      }),
    );
  }
  if (has.has(FAST_RISE.signal)) {
    out.push(...fastRiseDetections(await read(FAST_RISE.signal), { ...FAST_RISE, label: 'Hottest cell temperature' }));
  }
  for (const s of info.signals) {
    if (!watchForStuck(s.spec) || s.medianPeriodMs === null) continue;
    await slicer.pause();
    // The signal's usual holds are learned from the week before the range as well as the range itself.
    const series = await dataset.readSignal(
      info.id,
      s.signal,
      Math.max(info.first!, from - STUCK_BASELINE_MS),
      to,
      MAX_ROWS,
    );
    out.push(
      ...stuckDetections(series, {
        signal: s.signal,
        minDurationMs: STUCK_MIN_MS,
        minReadings: Math.max(10, Math.round(STUCK_MIN_MS / s.medianPeriodMs / 2)),
        maxGapMs: s.staleAfterMs ?? 3 * s.medianPeriodMs,
        judgeFrom: from,
        minBaselineMs: STUCK_MIN_BASELINE_MS,
        label: s.spec.label,
      }),
    );
  }
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
  await slicer.pause();
  out.push(...(await deviceGaps(dataset, info, from, to)));
  await slicer.pause();
  if (has.has('pcs1_ia') && has.has('pcs1_ib') && has.has('pcs1_ic'))
    out.push(...(await phaseImbalance(dataset, info.id, from, to, slicer)));
  return out;
}

/** The device is offline when its fast BMS and PCS signals are silent together. */
async function deviceGaps(dataset: BessDataset, info: DeviceInfo, from: number, to: number): Promise<Detection[]> {
  const fast = HEARTBEAT_SIGNALS.filter((s) => info.signals.some((x) => x.signal === s));
  if (fast.length === 0) return [];
  const series = await Promise.all(fast.map((s) => dataset.readSignal(info.id, s, from, to, MAX_ROWS)));
  const times = new Float64Array(series.reduce((n, s) => n + s.t.length, 0));
  let at = 0;
  for (const s of series) {
    times.set(s.t, at);
    at += s.t.length;
  }
  times.sort();
  const periods = info.signals.filter((s) => fast.includes(s.signal)).map((s) => s.medianPeriodMs ?? 60_000);
  const minGapMs = Math.max(DEVICE_SILENCE_MS, 3 * Math.max(...periods));
  return gapDetections({ t: times, v: new Float64Array(times.length) }, { signals: ['*'], minGapMs, label: 'Device' });
}

async function phaseImbalance(
  dataset: BessDataset,
  deviceId: string,
  from: number,
  to: number,
  slicer: TimeSlicer,
): Promise<Detection[]> {
  const t: number[] = [];
  const phases: [(number | null)[], (number | null)[], (number | null)[]] = [[], [], []];
  const total = (await dataset.page(deviceId, 'pcs', { skip: 0, limit: 1, from, to })).total;
  // Pages of 2,000 records, each a step of the scan (10,000 aligned records held the loop for 50-80 ms).
  for (let skip = 0; skip < total; skip += 2_000) {
    await slicer.pause();
    const page = await dataset.page(deviceId, 'pcs', { skip, limit: 2_000, from, to });
    for (const r of page.records) {
      t.push(Date.parse(r.timestamp));
      phases[0].push(r.ac_current_a as number | null);
      phases[1].push(r.ac_current_b as number | null);
      phases[2].push(r.ac_current_c as number | null);
    }
  }
  return imbalanceDetections(t, phases, PHASE_IMBALANCE);
}

/** Cell buckets for outlier detection: fine enough to catch an hour-long excursion. */
const OUTLIER_BUCKET_MS = 20 * 60_000;
/** A cell this far from its pack is out of line even in a very uniform pack. */
const OUTLIER_FLOOR = { voltage: 0.05, temperature: 6 } as const;

/** Low-voltage and hot cells against their own pack (the pack-level min/max hide which cell it is). */
async function packOutliers(
  dataset: BessDataset,
  info: DeviceInfo,
  from: number,
  to: number,
  slicer: TimeSlicer,
): Promise<Detection[]> {
  const present = new Set(info.signals.map((s) => s.signal));
  const buckets = Math.max(1, Math.ceil((to - from + 1) / OUTLIER_BUCKET_MS));
  const bucketMs = Math.max(1, Math.ceil((to - from + 1) / buckets));
  const t = Array.from({ length: buckets }, (_, b) => from + b * bucketMs);
  const out: Detection[] = [];
  for (const quantity of ['voltage', 'temperature'] as const) {
    for (let pack = 1; pack <= CABINET.packs; pack++) {
      const cells = [];
      for (let cell = 1; cell <= CABINET.cellsPerPack; cell++) {
        const signal = cellSignal(pack, cell, quantity);
        if (!present.has(signal)) continue;
        await slicer.pause();
        const series = await dataset.downsample(info.id, signal, from, to, buckets);
        const values: (number | null)[] = new Array<number | null>(buckets).fill(null);
        series.t.forEach((bt, i) => (values[Math.round((bt - from) / bucketMs)] = series.mean[i]!));
        cells.push({ signal, label: describeSignal(signal).label, values });
      }
      out.push(
        ...packOutlierDetections(t, cells, {
          k: 6,
          floor: OUTLIER_FLOOR[quantity],
          bucketMs,
          unit: quantity === 'voltage' ? 'V' : '°C',
          lowOnly: quantity === 'voltage',
        }),
      );
    }
  }
  // Cells are logged at staggered times, so a short load step (a current spike) catches some
  // cells mid-step and not others: only an outlier that persists for two buckets is a cell's own.
  return mergeDetections(info.id, out, 0)
    .filter((e) => e.end - e.start >= 2 * bucketMs)
    .map(({ id: _id, deviceId: _device, ...detection }) => detection);
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
