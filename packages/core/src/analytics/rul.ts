import { CABINET } from '../catalog.js';
import type { BessDataset } from '../types.js';

export interface RemainingLife {
  deviceId: string;
  status: 'ok' | 'insufficient_history';
  reason?: string;
  soh: number | null;
  /** SOH change per year (negative is fade), with an 80 % interval. */
  fadePerYear: number | null;
  fadeInterval: [number, number] | null;
  endOfLifeSoh: number;
  /** When SOH is expected to reach end of life, with an 80 % interval (epoch ms). */
  endOfLife: number | null;
  endOfLifeInterval: [number, number] | null;
  historyDays: number;
}

const YEAR = 365.25 * 86_400_000;
const MIN_HISTORY_DAYS = 30;

/**
 * Remaining useful life to `CABINET.endOfLifeSoh` from a Theil–Sen fit of the
 * daily median SOH: the median of all pairwise slopes, which a few bad readings
 * cannot drag, and the 10th/90th percentiles of those slopes as its interval.
 */
export async function remainingUsefulLife(dataset: BessDataset, deviceId: string): Promise<RemainingLife> {
  const info = dataset.device(deviceId);
  const soh = info.signals.find((s) => s.signal === 'bms1_soh');
  const base = {
    deviceId,
    endOfLifeSoh: CABINET.endOfLifeSoh,
    soh: null,
    fadePerYear: null,
    fadeInterval: null,
    endOfLife: null,
    endOfLifeInterval: null,
  };
  if (!soh || soh.first === null || soh.last === null)
    return { ...base, status: 'insufficient_history', reason: 'no SOH readings', historyDays: 0 };
  const series = await dataset.readSignal(deviceId, 'bms1_soh', soh.first, soh.last, 5_000_000);
  const days = dailyMedians(series.t, series.v);
  const historyDays = (soh.last - soh.first) / 86_400_000;
  const current = days.at(-1)?.v ?? null;
  if (historyDays < MIN_HISTORY_DAYS || days.length < 10) {
    return {
      ...base,
      soh: current,
      status: 'insufficient_history',
      reason: `${historyDays.toFixed(1)} days of SOH history; at least ${MIN_HISTORY_DAYS} are needed to see a trend`,
      historyDays,
    };
  }
  return fitRul(deviceId, days, historyDays);
}

function dailyMedians(t: ArrayLike<number>, v: ArrayLike<number>): { t: number; v: number }[] {
  const byDay = new Map<number, number[]>();
  for (let i = 0; i < t.length; i++) {
    const d = Math.floor(t[i]! / 86_400_000);
    const list = byDay.get(d) ?? [];
    list.push(v[i]!);
    byDay.set(d, list);
  }
  return [...byDay]
    .sort(([a], [b]) => a - b)
    .map(([d, vs]) => {
      vs.sort((a, b) => a - b);
      return { t: d * 86_400_000 + 43_200_000, v: vs[vs.length >> 1]! };
    });
}

export function fitRul(deviceId: string, days: { t: number; v: number }[], historyDays: number): RemainingLife {
  // Subsample to keep the pairwise slopes O(n²) small on multi-year histories.
  const step = Math.max(1, Math.ceil(days.length / 300));
  const pts = days.filter((_, i) => i % step === 0);
  const slopes: number[] = [];
  for (let i = 0; i < pts.length; i++)
    for (let j = i + 1; j < pts.length; j++)
      if (pts[j]!.t - pts[i]!.t >= 7 * 86_400_000) slopes.push((pts[j]!.v - pts[i]!.v) / (pts[j]!.t - pts[i]!.t));
  slopes.sort((a, b) => a - b);
  const q = (p: number) => slopes[Math.min(slopes.length - 1, Math.floor(p * slopes.length))]!;
  const slope = q(0.5);
  const [low, high] = [q(0.1), q(0.9)];
  // The fitted line passes through the median point (Theil–Sen intercept).
  const intercepts = pts.map((p) => p.v - slope * p.t).sort((a, b) => a - b);
  const intercept = intercepts[intercepts.length >> 1]!;
  const last = days.at(-1)!;
  const soh = intercept + slope * last.t;
  const base = {
    deviceId,
    endOfLifeSoh: CABINET.endOfLifeSoh,
    soh,
    fadePerYear: slope * YEAR,
    fadeInterval: [low * YEAR, high * YEAR] as [number, number],
    historyDays,
  };
  if (!(slope < 0) || Math.abs(slope * YEAR) < 0.05) {
    return {
      ...base,
      status: 'insufficient_history',
      reason: 'SOH shows no measurable fade yet',
      endOfLife: null,
      endOfLifeInterval: null,
    };
  }
  const at = (s: number) => (s < 0 ? last.t + (CABINET.endOfLifeSoh - soh) / s : Infinity);
  return {
    ...base,
    status: 'ok',
    endOfLife: at(slope),
    // The steepest fade gives the earliest date.
    endOfLifeInterval: [at(low), at(high)],
  };
}
