import { CABINET } from '../catalog.js';
import type { Random } from './random.js';

export type DispatchStyle = 'arbitrage' | 'two_cycles' | 'frequency_regulation' | 'peak_shaving';

/**
 * One cabinet's physics and habits. The reference family is the fleet this project was built
 * on (every cabinet alike); the varied family draws each cabinet's own, so detectors cannot fit
 * one cabinet's ratings, dispatch, noise or climate.
 */
export interface CabinetProfile {
  family: 'reference' | 'varied';
  capacityAh: number;
  /** The current dispatch amplitudes scale with (A): the capacity in the reference family, the PCS rating in the varied one. */
  dispatchA: number;
  pcsKw: number;
  dispatch: DispatchStyle;
  /** Charge and discharge amplitude ranges, as shares of `dispatchA`. */
  chargeShare: [number, number];
  dischargeShare: [number, number];
  /** Day indices (from the dataset's start) with no dispatch at all. */
  restDays: number[];
  /** Standard deviation of each phase current's noise (A): what an idle PCS shows. */
  phaseNoiseA: number;
  /** Decimals every temperature is logged with (1 °C or 0.1 °C sensors). */
  temperatureDecimals: number;
  climate: { mean: number; seasonal: number; daily: number; weatherSd: number };
  cooling: { setpoint: number; ambientCoupling: number; heatingAtRefA: number; refA: number };
  cells: { voltageSd: number; resistanceSd: number; temperatureSd: number; middleWarmer: number };
  packResistance: [number, number];
}

export const REFERENCE_PROFILE: CabinetProfile = {
  family: 'reference',
  capacityAh: CABINET.capacityAh,
  dispatchA: CABINET.capacityAh,
  pcsKw: CABINET.pcsRatedKw,
  dispatch: 'arbitrage',
  chargeShare: [0.16, 0.23],
  dischargeShare: [0.14, 0.21],
  restDays: [],
  phaseNoiseA: 0.4,
  temperatureDecimals: 1,
  climate: { mean: 15, seasonal: 8, daily: 7, weatherSd: 2.5 },
  cooling: { setpoint: 24, ambientCoupling: 0.25, heatingAtRefA: 5, refA: 150 },
  cells: { voltageSd: 0.0035, resistanceSd: 0.00004, temperatureSd: 0.5, middleWarmer: 1.5 },
  packResistance: [0.06, 0.075],
};

const STYLES: readonly DispatchStyle[] = ['arbitrage', 'two_cycles', 'frequency_regulation', 'peak_shaving'];

/** A cabinet of the varied family: ratings, dispatch, noise, resolution, climate and cell spread drawn from `rng`. */
export function variedProfile(rng: Random, days: number): CabinetProfile {
  const pcsKw = Math.round(rng.between(60, 250));
  const restShare = rng.between(0, 0.2);
  const restDays = Array.from({ length: days }, (_, d) => d).filter((d) => d > 0 && rng.next() < restShare);
  return {
    family: 'varied',
    capacityAh: [280, 304, 314, 320][rng.int(0, 4)]!,
    dispatchA: (pcsKw * 1000) / CABINET.nominalVoltage,
    pcsKw,
    dispatch: STYLES[rng.int(0, STYLES.length)]!,
    chargeShare: [rng.between(0.4, 0.6), rng.between(0.7, 0.95)],
    dischargeShare: [rng.between(0.4, 0.6), rng.between(0.7, 0.95)],
    restDays,
    phaseNoiseA: rng.between(0.5, 4),
    temperatureDecimals: rng.next() < 0.5 ? 0 : 1,
    climate: {
      mean: rng.between(0, 22),
      seasonal: rng.between(2, 10),
      daily: rng.between(3, 8),
      weatherSd: rng.between(1, 4),
    },
    cooling: {
      setpoint: rng.between(20, 26),
      ambientCoupling: rng.between(0.1, 0.3),
      heatingAtRefA: rng.between(2, 8),
      refA: (pcsKw * 1000) / CABINET.nominalVoltage,
    },
    cells: {
      voltageSd: rng.between(0.0015, 0.005),
      resistanceSd: rng.between(0.00002, 0.00005),
      temperatureSd: rng.between(0.3, 1),
      middleWarmer: rng.between(0, 2.5),
    },
    packResistance: [0.05, rng.between(0.06, 0.1)],
  };
}

/** Hours of the day when current flows in a cabinet's dispatch (where a phase imbalance shows). */
export function flowingHours(p: CabinetProfile): readonly [number, number][] {
  switch (p.dispatch) {
    case 'arbitrage':
      return [
        [10, 14.5],
        [17, 21],
      ];
    case 'two_cycles':
      return [
        [1, 4],
        [7, 9],
        [11, 14],
        [18, 21],
      ];
    case 'frequency_regulation':
      return [[0, 24]];
    case 'peak_shaving':
      return [[0, 5]];
  }
}
