import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CABINET } from '../catalog.js';
import { FAULT_KINDS, type FaultLabel, type FaultSpec, type LoggedTruth } from '../generate/faults.js';
import { flowingHours, type CabinetProfile } from '../generate/profile.js';
import { Random } from '../generate/random.js';
import { BessError, type BessDataset } from '../types.js';
import { byStart, type AnomalyEvent } from '../analytics/events.js';
import { choosePhi, errorSpread, profileForecast, seasonalNaive } from '../analytics/forecast.js';
import { DeviceAlertFeed } from '../analytics/feed.js';
import type { AlertUpdate } from '../analytics/streaming.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A labelled fault window (the generator's ground truth). */
export interface Label {
  device: string;
  kind: string;
  start: number;
  end: number;
  /** For a stuck sensor, when the generator recorded it: what the sensor would have logged. */
  truth?: LoggedTruth;
}

export interface KindScore {
  kind: string;
  labels: number;
  detectedLabels: number;
  events: number;
  matchedEvents: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Whether an event is of a label's kind on its device and overlaps it (starting at most `toleranceMs` after it ends). */
export function matchesLabel(e: AnomalyEvent, l: Label, toleranceMs = 0): boolean {
  return e.deviceId === l.device && e.kind === l.kind && e.start <= l.end + toleranceMs && e.end >= l.start;
}

/**
 * Event-level scores per labelled kind: an event counts when it overlaps a label
 * of its kind on its device; recall is the share of labels some event overlaps,
 * precision the share of events that overlap a label. `toleranceMs` lets an event
 * start that long after the label ends: an aligned record stamped t shows the last
 * reading at or before t, so a live alert can trail the fault by one grid step.
 */
export function scoreDetection(
  events: AnomalyEvent[],
  labels: Label[],
  kinds: readonly string[],
  toleranceMs = 0,
): KindScore[] {
  return kinds.map((kind) => {
    const ls = labels.filter((l) => l.kind === kind);
    const es = events.filter((e) => e.kind === kind);
    const detectedLabels = ls.filter((l) => es.some((e) => matchesLabel(e, l, toleranceMs))).length;
    const matchedEvents = es.filter((e) => ls.some((l) => matchesLabel(e, l, toleranceMs))).length;
    const precision = es.length ? matchedEvents / es.length : ls.length ? 0 : 1;
    const recall = ls.length ? detectedLabels / ls.length : 1;
    return {
      kind,
      labels: ls.length,
      detectedLabels,
      events: es.length,
      matchedEvents,
      precision,
      recall,
      f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    };
  });
}

export interface BacktestResult {
  origins: number;
  horizonSlots: number;
  modelMae: number;
  naiveMae: number;
  /** 1 - modelMae / naiveMae: how much better than "the same time yesterday". */
  improvement: number;
  /** Share of outcomes inside the model's 80 % interval. */
  coverage80: number;
  /** The residual damping, chosen on the data before the first origin only. */
  phi: number;
}

/**
 * Rolling-origin backtest on 15-minute slot values: from each origin, forecast
 * `horizonSlots` ahead with only the data before it, and compare with what happened.
 */
export function backtest(
  values: Float64Array,
  horizonSlots: number,
  firstOrigin: number,
  everySlots = 24,
): BacktestResult {
  const phi = choosePhi(values.subarray(0, firstOrigin + 1), horizonSlots);
  let model = 0;
  let naive = 0;
  let n = 0;
  let inside = 0;
  let origins = 0;
  for (let at = firstOrigin; at + horizonSlots < values.length; at += everySlots) {
    const history = values.subarray(0, at + 1);
    const f = profileForecast(history, at, horizonSlots, phi);
    const b = seasonalNaive(history, at, horizonSlots);
    const spread = errorSpread(history, horizonSlots, phi);
    origins++;
    for (let h = 0; h < horizonSlots; h++) {
      const actual = values[at + h + 1]!;
      if (Number.isNaN(actual) || Number.isNaN(f[h]!) || Number.isNaN(b[h]!)) continue;
      model += Math.abs(actual - f[h]!);
      naive += Math.abs(actual - b[h]!);
      if (Math.abs(actual - f[h]!) <= 1.2816 * spread[h]!) inside++;
      n++;
    }
  }
  const modelMae = model / n;
  const naiveMae = naive / n;
  return {
    origins,
    horizonSlots,
    modelMae,
    naiveMae,
    improvement: 1 - modelMae / naiveMae,
    coverage80: inside / n,
    phi,
  };
}

/** Signals that normally move, any of which a randomised plan may freeze. */
const STUCK_CANDIDATES = [
  'bms1_cell_ave_t',
  'bms1_cell_max_t',
  'bms1_cell_ave_v',
  'bms1_v',
  'pcs1_t_igbt',
  'pcs1_t_env',
  'pcs1_dcv',
  'pcs1_uab',
  'pcs1_ubc',
  'ac1_outwater_t',
  'dh1_humi',
];

export interface FaultPlanOptions {
  /** Days at the start with no fault (the statistical checks learn there); default 8. */
  warmUpDays?: number;
  /**
   * The cabinets' physics (`cabinetProfiles` of a varied family): faults then avoid rest days,
   * phase imbalances fall where current flows in each cabinet's dispatch, and every fault gets a
   * random magnitude, from subtle to severe. Without it, the reference plan's magnitudes.
   */
  profiles?: Record<string, CabinetProfile>;
}

/**
 * A randomised fault plan for an evaluation set: `perKind` faults of each kind per device, one
 * per day on distinct random days after the warm-up, at random hours and durations, on random
 * cells and signals. Tuning and evaluation sets use different seeds.
 */
export function randomFaultPlan(
  deviceIds: readonly string[],
  start: number,
  days: number,
  seed: number,
  perKind: number,
  options: FaultPlanOptions = {},
): Record<string, FaultSpec[]> {
  const warmUpDays = options.warmUpDays ?? 8;
  const kinds = FAULT_KINDS.length;
  const rng = new Random(seed);
  const plan: Record<string, FaultSpec[]> = {};
  for (const deviceId of deviceIds) {
    const r = rng.fork(deviceId);
    const profile = options.profiles?.[deviceId];
    const free = Array.from({ length: days - warmUpDays }, (_, d) => warmUpDays + d).filter(
      (d) => !profile?.restDays.includes(d),
    );
    if (free.length < kinds * perKind)
      throw new BessError(
        'BAD_REQUEST',
        `${days} days cannot hold ${perKind} faults of each of ${kinds} kinds`,
        'days',
      );
    for (let i = free.length - 1; i > 0; i--) {
      const j = r.int(0, i + 1);
      [free[i], free[j]] = [free[j]!, free[i]!];
    }
    const faults: FaultSpec[] = [];
    let next = 0;
    const flowing = profile ? flowingHours(profile) : REFERENCE_FLOWING_HOURS;
    for (const kind of FAULT_KINDS) {
      for (let n = 0; n < perKind; n++) {
        const day = start + free[next++]! * DAY;
        const hours = (low: number, high: number) => day + r.between(low, high) * HOUR;
        const cell = { pack: r.int(1, CABINET.packs + 1), cell: r.int(1, CABINET.cellsPerPack + 1) };
        const magnitude = (low: number, high: number) => (profile ? { magnitude: r.between(low, high) } : {});
        switch (kind) {
          case 'cell_overtemp':
          case 'weak_cell_voltage': {
            const from = hours(0, 21);
            const size = kind === 'cell_overtemp' ? magnitude(6, 20) : magnitude(0.06, 0.2);
            faults.push({ kind, start: from, end: from + r.between(1, 3) * HOUR, ...cell, ...size });
            break;
          }
          case 'current_spike': {
            const from = hours(0, 23.5);
            const size = profile ? { ...magnitude(1.5, 4), sign: r.next() < 0.5 ? -1 : 1 } : {};
            faults.push({ kind, start: from, end: from + r.between(1, 5) * 60_000, ...size });
            break;
          }
          case 'sensor_stuck': {
            const from = hours(0, 16);
            faults.push({
              kind,
              start: from,
              end: from + r.between(3, 8) * HOUR,
              signal: STUCK_CANDIDATES[r.int(0, STUCK_CANDIDATES.length)]!,
            });
            break;
          }
          case 'phase_imbalance': {
            const [low, high] = flowing[r.int(0, flowing.length)]!;
            const from = hours(low, Math.max(low, high - 1));
            faults.push({
              kind,
              start: from,
              end: Math.min(day + high * HOUR, from + r.between(1, 3) * HOUR),
              ...magnitude(0.2, 0.5),
            });
            break;
          }
          case 'offline_gap': {
            const from = hours(0, 20);
            faults.push({ kind, start: from, end: from + r.between(0.5, 4) * HOUR });
            break;
          }
        }
      }
    }
    plan[deviceId] = faults.sort((a, b) => a.start - b.start);
  }
  return plan;
}

/** Hours of the reference fleet's operating day when current flows (a phase imbalance only shows then). */
const REFERENCE_FLOWING_HOURS: readonly [number, number][] = [
  [10, 14.5],
  [17, 21],
];

/** The generator's ground truth (`<root>/faults.json`) as labels; none when the set is clean. */
export function readLabels(root: string): Label[] {
  const file = join(root, 'faults.json');
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as FaultLabel[]).map((l) => ({
    device: l.device,
    kind: l.kind,
    start: Date.parse(l.start),
    end: Date.parse(l.end),
    ...(l.truth ? { truth: l.truth } : {}),
  }));
}

/**
 * The streaming detector run over a device's whole history as the alerts subscription
 * feeds it (`DeviceAlertFeed`: BMS and PCS records and the raw readings of the other
 * watched signals, merged in time order), with the detector's busy time. Returns the
 * closed events.
 */
export async function replayAlerts(
  dataset: BessDataset,
  deviceId: string,
): Promise<{ events: AnomalyEvent[]; records: number; readings: number; busyMs: number }> {
  const info = dataset.device(deviceId);
  if (!info.hasBms && !info.hasPcs) return { events: [], records: 0, readings: 0, busyMs: 0 };
  const feed = new DeviceAlertFeed(dataset, deviceId);
  const events: AnomalyEvent[] = [];
  const collect = (updates: AlertUpdate[]) => {
    for (const u of updates) if (u.status === 'closed') events.push(u.event);
  };
  const pageSize = 10_000;
  for (let skip = 0; ;) {
    const page = await dataset.page(deviceId, feed.driver, { skip, limit: pageSize });
    for (const record of page.records) collect(await feed.push(record));
    skip += page.records.length;
    if (page.records.length === 0 || skip >= page.total) break;
  }
  // Readings after the last record would come with the next one; the history ends here, as the batch scan's does.
  if (info.last !== null) collect(await feed.drainTo(info.last));
  collect(feed.close());
  const { records, readings, detectorMs } = feed.stats;
  return { events: events.sort(byStart), records, readings, busyMs: detectorMs };
}
