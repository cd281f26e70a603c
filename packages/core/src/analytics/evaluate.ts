import type { AnomalyEvent } from './events.js';
import { choosePhi, errorSpread, profileForecast, seasonalNaive, SLOTS_PER_DAY } from './forecast.js';

/** A labelled fault window (the generator's ground truth). */
export interface Label {
  device: string;
  kind: string;
  start: number;
  end: number;
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

/**
 * Event-level scores per labelled kind: an event counts when it overlaps a label
 * of its kind on its device; recall is the share of labels some event overlaps,
 * precision the share of events that overlap a label.
 */
export function scoreDetection(events: AnomalyEvent[], labels: Label[], kinds: readonly string[]): KindScore[] {
  const overlaps = (e: AnomalyEvent, l: Label) => e.deviceId === l.device && e.kind === l.kind && e.start <= l.end && e.end >= l.start;
  return kinds.map((kind) => {
    const ls = labels.filter((l) => l.kind === kind);
    const es = events.filter((e) => e.kind === kind);
    const detectedLabels = ls.filter((l) => es.some((e) => overlaps(e, l))).length;
    const matchedEvents = es.filter((e) => ls.some((l) => overlaps(e, l))).length;
    const precision = es.length ? matchedEvents / es.length : ls.length ? 0 : 1;
    const recall = ls.length ? detectedLabels / ls.length : 1;
    return { kind, labels: ls.length, detectedLabels, events: es.length, matchedEvents, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
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
export function backtest(values: Float64Array, horizonSlots: number, firstOrigin: number, everySlots = 24): BacktestResult {
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
  return { origins, horizonSlots, modelMae, naiveMae, improvement: 1 - modelMae / naiveMae, coverage80: inside / n, phi };
}

export const DAY_AHEAD_SLOTS = SLOTS_PER_DAY;
