import { CABINET } from '../catalog.js';
import { activeFault, type FaultSpec } from './faults.js';
import type { CabinetProfile } from './profile.js';
import type { Random } from './random.js';

/** The model's time step. Signals are sampled from it as-of, at their own rates. */
export const TICK_MS = 30_000;
export const TICKS_PER_DAY = 86_400_000 / TICK_MS;
const CELLS = CABINET.cellsInSeries;
const HOUR = 3_600_000;

/** LFP open-circuit voltage per cell against SOC (%): flat middle, steep ends. */
const OCV: [number, number][] = [
  [0, 2.8],
  [5, 3.1],
  [10, 3.2],
  [20, 3.25],
  [30, 3.28],
  [40, 3.29],
  [50, 3.3],
  [60, 3.31],
  [70, 3.33],
  [80, 3.34],
  [90, 3.36],
  [95, 3.4],
  [100, 3.55],
];

function ocv(soc: number): number {
  if (soc <= 0) return OCV[0]![1];
  for (let i = 1; i < OCV.length; i++) {
    const [s1, v1] = OCV[i]!;
    if (soc <= s1) {
      const [s0, v0] = OCV[i - 1]!;
      return v0 + ((v1 - v0) * (soc - s0)) / (s1 - s0);
    }
  }
  return OCV[OCV.length - 1]![1];
}

/** One simulated day, one value per tick. */
export interface DayState {
  start: number;
  current: Float64Array;
  soc: Float64Array;
  packVoltage: Float64Array;
  cellAvgV: Float64Array;
  cellMaxV: Float64Array;
  cellMinV: Float64Array;
  cellAvgT: Float64Array;
  cellMaxT: Float64Array;
  cellMinT: Float64Array;
  ambient: Float64Array;
  soh: Float64Array;
}

/**
 * A 261 kWh LFP cabinet: a daily schedule (charge from solar around noon,
 * discharge into the evening peak, rests between), SOC by coulomb counting,
 * pack voltage from OCV and internal resistance, cell temperatures lagging their
 * I²R heating and the liquid-cooled ambient, and SOH fading with time and cycles.
 * Cells differ by fixed offsets in voltage, resistance and temperature.
 */
export class CabinetModel {
  private soc: number;
  private soh: number;
  private cellTemp: number;
  /** Weather: a day-to-day offset of the outdoor temperature that persists for days (fronts). */
  private weather = 0;
  readonly vOffset = new Float64Array(CELLS);
  readonly rOffset = new Float64Array(CELLS);
  readonly tOffset = new Float64Array(CELLS);
  /** Per-tick cell values of the last simulated tick, for per-cell files. */
  private readonly packResistance: number;

  /** Frequency regulation's state: the current it was last asked for. */
  private regulation = 0;
  private dayIndex = 0;

  constructor(
    private readonly rng: Random,
    private readonly faults: readonly FaultSpec[],
    readonly profile: CabinetProfile,
  ) {
    const p = profile;
    this.soc = rng.between(40, 60);
    this.soh = rng.between(98, 100);
    this.cellTemp = p.cooling.setpoint;
    this.packResistance = rng.between(...p.packResistance);
    for (let i = 0; i < CELLS; i++) {
      this.vOffset[i] = rng.normal(0, p.cells.voltageSd);
      this.rOffset[i] = rng.normal(0, p.cells.resistanceSd);
      // Cells in the middle of a pack run warmer than those at its ends.
      const position = (i % CABINET.cellsPerPack) / (CABINET.cellsPerPack - 1);
      this.tOffset[i] = rng.normal(0, p.cells.temperatureSd) + p.cells.middleWarmer * Math.sin(Math.PI * position);
    }
  }

  /** Cell i's voltage and temperature at tick k of a simulated day (faults included). */
  cellVoltage(day: DayState, k: number, i: number, t: number): number {
    let v = day.cellAvgV[k]! + this.vOffset[i]! - day.current[k]! * this.rOffset[i]!;
    const weak = activeFault(this.faults, 'weak_cell_voltage', t);
    if (weak && cellIndex(weak) === i) v -= (weak.magnitude ?? 0.55) * ramp(weak, t);
    return v;
  }

  cellTemperature(day: DayState, k: number, i: number, t: number): number {
    let temp = day.cellAvgT[k]! + this.tOffset[i]!;
    const hot = activeFault(this.faults, 'cell_overtemp', t);
    if (hot && cellIndex(hot) === i) temp += (hot.magnitude ?? 36) * ramp(hot, t);
    return temp;
  }

  simulateDay(start: number): DayState {
    const n = TICKS_PER_DAY;
    const day: DayState = {
      start,
      current: new Float64Array(n),
      soc: new Float64Array(n),
      packVoltage: new Float64Array(n),
      cellAvgV: new Float64Array(n),
      cellMaxV: new Float64Array(n),
      cellMinV: new Float64Array(n),
      cellAvgT: new Float64Array(n),
      cellMaxT: new Float64Array(n),
      cellMinT: new Float64Array(n),
      ambient: new Float64Array(n),
      soh: new Float64Array(n),
    };
    const p = this.profile;
    const dispatch = this.dispatchOfDay(this.dayIndex++);
    const dayOfYear = (start / 86_400_000) % 365.25;
    const weatherFrom = this.weather;
    this.weather = 0.75 * this.weather + this.rng.normal(0, p.climate.weatherSd);
    const weatherTo = this.weather;
    const seasonal = -p.climate.seasonal * Math.cos((2 * Math.PI * (dayOfYear - 15)) / 365.25);
    for (let k = 0; k < n; k++) {
      const t = start + k * TICK_MS;
      const hour = (k * TICK_MS) / HOUR;
      let current = dispatch(hour);
      current += this.rng.normal(0, 1.5);
      // The BMS stops at the SOC window's edges.
      if ((this.soc >= 97 && current < 0) || (this.soc <= 6 && current > 0)) current = this.rng.normal(0, 0.5);
      const spike = activeFault(this.faults, 'current_spike', t);
      if (spike)
        current =
          spike.magnitude === undefined
            ? 620 + this.rng.normal(0, 10)
            : current + (spike.sign ?? 1) * spike.magnitude * p.dispatchA;

      const capacityAh = p.capacityAh * (this.soh / 100);
      this.soc = Math.min(100, Math.max(0, this.soc - ((current * TICK_MS) / HOUR / capacityAh) * 100));
      // The weather offset moves smoothly from yesterday's to today's through the day.
      const weather = weatherFrom + ((weatherTo - weatherFrom) * hour) / 24;
      const ambient =
        p.climate.mean +
        seasonal +
        weather +
        p.climate.daily * Math.sin((2 * Math.PI * (hour - 9)) / 24) +
        this.rng.normal(0, 0.2);
      // Liquid cooling holds the cells near its setpoint; heat from I²R and a hot day push them up, with a 40-min lag.
      const c = p.cooling;
      const target = c.setpoint + c.ambientCoupling * (ambient - 20) + c.heatingAtRefA * (current / c.refA) ** 2;
      this.cellTemp += (target - this.cellTemp) * (TICK_MS / (40 * 60_000));
      this.soh -= (2.4 / 365 / TICKS_PER_DAY + (Math.abs(current) * TICK_MS) / HOUR / p.capacityAh / 6000) * 1.0;

      const cellOcv = ocv(this.soc);
      const packV = CELLS * cellOcv - current * this.packResistance;
      day.current[k] = current;
      day.soc[k] = this.soc;
      day.packVoltage[k] = packV;
      day.cellAvgV[k] = packV / CELLS;
      day.cellAvgT[k] = this.cellTemp;
      day.ambient[k] = ambient;
      day.soh[k] = this.soh;
      let maxV = -Infinity;
      let minV = Infinity;
      let maxT = -Infinity;
      let minT = Infinity;
      for (let i = 0; i < CELLS; i++) {
        const v = this.cellVoltage(day, k, i, t);
        const temp = this.cellTemperature(day, k, i, t);
        if (v > maxV) maxV = v;
        if (v < minV) minV = v;
        if (temp > maxT) maxT = temp;
        if (temp < minT) minT = temp;
      }
      day.cellMaxV[k] = maxV;
      day.cellMinV[k] = minV;
      day.cellMaxT[k] = maxT;
      day.cellMinT[k] = minT;
    }
    return day;
  }

  /** Each day's demand differs: cloudy days charge less, busy evenings discharge more; rest days ask for nothing. */
  private dispatchOfDay(dayIndex: number): Dispatch {
    const p = this.profile;
    const chargeAmps = -p.dispatchA * this.rng.between(...p.chargeShare);
    const dischargeAmps = p.dispatchA * this.rng.between(...p.dischargeShare);
    if (p.restDays.includes(dayIndex)) return () => 0;
    const between = (hour: number, from: number, to: number) => hour >= from && hour < to;
    switch (p.dispatch) {
      case 'arbitrage':
        return (hour) => {
          if (between(hour, 10, 14.5)) return chargeAmps * (0.8 + 0.2 * Math.sin((Math.PI * (hour - 10)) / 4.5));
          if (between(hour, 17, 21)) return dischargeAmps;
          if (between(hour, 7, 8)) return dischargeAmps * 0.3;
          return 0;
        };
      case 'two_cycles':
        return (hour) => {
          if (between(hour, 1, 4) || between(hour, 11, 14)) return chargeAmps;
          if (between(hour, 7, 9) || between(hour, 18, 21)) return dischargeAmps;
          return 0;
        };
      case 'frequency_regulation':
        // The grid asks for a new power every tick, around zero, pulled back towards half charge.
        return () => {
          this.regulation =
            0.9 * this.regulation +
            this.rng.normal(0, 0.25 * dischargeAmps) +
            0.02 * (this.soc - 50) * (dischargeAmps / 100);
          return Math.max(chargeAmps, Math.min(dischargeAmps, this.regulation));
        };
      case 'peak_shaving': {
        // Charged at night; through the day, discharge bursts of 10-50 minutes when the site's load peaks.
        const bursts: [number, number, number][] = [];
        for (let h = 8; h < 20; h++)
          if (this.rng.next() < 0.3) {
            const from = h + this.rng.between(0, 0.8);
            bursts.push([from, from + this.rng.between(10, 50) / 60, this.rng.between(0.4, 1)]);
          }
        return (hour) => {
          if (between(hour, 0, 5)) return chargeAmps * 0.5;
          const burst = bursts.find(([from, to]) => between(hour, from, to));
          return burst ? dischargeAmps * burst[2] : 0;
        };
      }
    }
  }
}

/** A day's dispatch: the current asked of the cabinet at each hour (A, positive discharges), before noise. */
type Dispatch = (hour: number) => number;

function cellIndex(f: FaultSpec): number {
  return (f.pack! - 1) * CABINET.cellsPerPack + (f.cell! - 1);
}

/** 0 -> 1 over the first fifth of a fault's window, then held: faults build up, they do not jump. */
function ramp(f: FaultSpec, t: number): number {
  return Math.min(1, (t - f.start) / Math.max(1, (f.end - f.start) / 5));
}
