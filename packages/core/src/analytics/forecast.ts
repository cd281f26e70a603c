import { BessError, type BessDataset } from '../types.js';

/**
 * Short-term forecasts from the daily operating cycle. The series is resampled
 * to 15-minute means; the forecast is the robust daily profile (the median of
 * each time slot over the last week) plus the current deviation from it, decaying
 * with the horizon (damped persistence). The 80 % interval comes from the same
 * model's own errors at each horizon over the recent past, so it is as wide as
 * the model has actually been wrong.
 */
export const SLOT_MS = 15 * 60_000;
export const SLOTS_PER_DAY = 96;
const PROFILE_DAYS = 7;
const TRAIN_DAYS = 21;
const Z80 = 1.2816;

export interface ForecastPoint {
  t: number;
  value: number;
  lower: number;
  upper: number;
}

export interface Forecast {
  signal: string;
  model: 'daily-profile+damped-residual';
  /** Damping of the residual per 15 minutes, chosen by backtest on this signal's recent history. */
  phi: number;
  trainedOn: { from: number; to: number; points: number };
  points: ForecastPoint[];
}

/** Slot means (NaN where a slot has no reading), aligned to whole slots since the epoch. */
export function resample(
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  from: number,
  to: number,
): { start: number; values: Float64Array } {
  const start = Math.floor(from / SLOT_MS) * SLOT_MS;
  const n = Math.floor((to - start) / SLOT_MS) + 1;
  const sum = new Float64Array(n);
  const count = new Float64Array(n);
  for (let i = 0; i < t.length; i++) {
    const k = Math.floor((t[i]! - start) / SLOT_MS);
    if (k < 0 || k >= n) continue;
    sum[k] = sum[k]! + v[i]!;
    count[k] = count[k]! + 1;
  }
  const values = new Float64Array(n);
  for (let k = 0; k < n; k++) values[k] = count[k] ? sum[k]! / count[k]! : NaN;
  return { start, values };
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The model: forecast h slots ahead of slot `at` using only values before and at `at`. */
export function profileForecast(values: Float64Array, at: number, horizon: number, phi: number): number[] {
  const profile = (k: number): number => {
    const xs: number[] = [];
    for (let d = 1; d <= PROFILE_DAYS; d++) {
      const j = k - d * SLOTS_PER_DAY;
      if (j >= 0 && j <= at && !Number.isNaN(values[j]!)) xs.push(values[j]!);
    }
    return median(xs);
  };
  let last = at;
  while (last >= 0 && Number.isNaN(values[last]!)) last--;
  const residual = last >= 0 ? values[last]! - profile(last) : 0;
  const out: number[] = [];
  for (let h = 1; h <= horizon; h++) {
    const base = profile(at + h);
    out.push(
      (Number.isNaN(base) ? (last >= 0 ? values[last]! : NaN) : base) +
        (Number.isNaN(residual) ? 0 : residual * phi ** (at + h - last)),
    );
  }
  return out;
}

/** The same hour yesterday: the baseline a forecast has to beat. */
export function seasonalNaive(values: Float64Array, at: number, horizon: number): number[] {
  const out: number[] = [];
  for (let h = 1; h <= horizon; h++) {
    let j = at + h - SLOTS_PER_DAY;
    while (j > at) j -= SLOTS_PER_DAY;
    out.push(j >= 0 ? values[j]! : NaN);
  }
  return out;
}

/** Candidate dampings of the residual per slot: half-lives from 45 min (0.8) to 7 days (0.999), for deviations from a quarter hour (noise) to days (weather). */
const PHI_CANDIDATES = [0.8, 0.9, 0.95, 0.98, 0.995, 0.999] as const;

/**
 * The damping that forecast best over the last week of `values` (rolling origins,
 * day-ahead MAE): SOC deviations persist for hours, temperature noise does not.
 */
export function choosePhi(values: Float64Array, horizon: number): number {
  let best: number = PHI_CANDIDATES[1];
  let bestError = Infinity;
  for (const phi of PHI_CANDIDATES) {
    let error = 0;
    let n = 0;
    for (let at = Math.max(SLOTS_PER_DAY * 2, values.length - SLOTS_PER_DAY * 7); at + 1 < values.length; at += 8) {
      const f = profileForecast(values, at, horizon, phi);
      for (let h = 0; h < horizon && at + h + 1 < values.length; h++) {
        const actual = values[at + h + 1]!;
        if (Number.isNaN(actual) || Number.isNaN(f[h]!)) continue;
        error += Math.abs(actual - f[h]!);
        n++;
      }
    }
    if (n > 0 && error / n < bestError) {
      bestError = error / n;
      best = phi;
    }
  }
  return best;
}

export async function forecastSignal(
  dataset: BessDataset,
  deviceId: string,
  signal: string,
  horizonHours: number,
): Promise<Forecast> {
  if (!(horizonHours >= 1 && horizonHours <= 24))
    throw new BessError('BAD_REQUEST', 'horizonHours must be from 1 to 24', 'horizonHours');
  const info = dataset.device(deviceId);
  const s = info.signals.find((x) => x.signal === signal);
  if (!s || s.last === null) throw new BessError('NOT_FOUND', `device ${deviceId} has no signal ${signal}`, 'signal');
  const to = s.last;
  const from = Math.max(s.first ?? to, to - TRAIN_DAYS * 86_400_000);
  const raw = await dataset.readSignal(deviceId, signal, from, to, 2_000_000);
  const { start, values } = resample(raw.t, raw.v, from, to);
  const at = values.length - 1;
  const horizon = Math.round(horizonHours * 4);
  if (at < SLOTS_PER_DAY)
    throw new BessError('BAD_REQUEST', `${signal} has less than a day of history to forecast from`, 'signal');
  const phi = choosePhi(values, horizon);
  const spread = errorSpread(values, horizon, phi);
  const forecast = profileForecast(values, at, horizon, phi);
  return {
    signal,
    model: 'daily-profile+damped-residual',
    phi,
    trainedOn: { from, to, points: raw.t.length },
    points: forecast.map((value, i) => ({
      t: start + (at + i + 1) * SLOT_MS,
      value,
      lower: value - Z80 * spread[i]!,
      upper: value + Z80 * spread[i]!,
    })),
  };
}

/** Root-mean-square error of the model at each horizon, over the recent past (rolling origins). */
export function errorSpread(values: Float64Array, horizon: number, phi: number): number[] {
  const sq = new Float64Array(horizon);
  const n = new Float64Array(horizon);
  const firstOrigin = Math.max(SLOTS_PER_DAY * 2, values.length - SLOTS_PER_DAY * 7);
  for (let at = firstOrigin; at + 1 < values.length; at += 4) {
    const f = profileForecast(values, at, horizon, phi);
    for (let h = 0; h < horizon && at + h + 1 < values.length; h++) {
      const actual = values[at + h + 1]!;
      if (Number.isNaN(actual) || Number.isNaN(f[h]!)) continue;
      sq[h] = sq[h]! + (actual - f[h]!) ** 2;
      n[h] = n[h]! + 1;
    }
  }
  const out: number[] = [];
  let previous = 0;
  for (let h = 0; h < horizon; h++) {
    previous = n[h] ? Math.sqrt(sq[h]! / n[h]!) : previous;
    out.push(previous);
  }
  return out;
}
