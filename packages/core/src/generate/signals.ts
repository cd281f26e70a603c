import { CABINET, describeSignal, parseCellSignal } from '../catalog.js';
import { activeFault, type FaultSpec } from './faults.js';
import type { CabinetModel, DayState } from './physics.js';
import type { CabinetProfile } from './profile.js';
import type { Random } from './random.js';

/** What the generator knows to produce a reading of one signal at tick k. */
interface SampleContext {
  model: CabinetModel;
  day: DayState;
  k: number;
  t: number;
  rng: Random;
  faults: readonly FaultSpec[];
  /** Hours since the dataset's start (cumulative energy counters). */
  hours: number;
}

type Sampler = (c: SampleContext) => number;

const apparentPower = (c: SampleContext) => (Math.abs(c.day.packVoltage[c.k]! * c.day.current[c.k]!) / 1000) * 1.015;
const phaseCurrent = (c: SampleContext) => (apparentPower(c) * 1000) / (Math.sqrt(3) * 400);
const ambient = (c: SampleContext) => c.day.ambient[c.k]!;
/** Apparent power as a share of the reference PCS's rating: what heats the IGBTs, the coolant and the auxiliaries. */
const load = (c: SampleContext) => apparentPower(c) * (CABINET.pcsRatedKw / c.model.profile.pcsKw);
const noise = (sd: number) => (c: SampleContext) => c.rng.normal(0, sd);
const phaseNoise = (c: SampleContext) => c.rng.normal(0, c.model.profile.phaseNoiseA);
/** A faulty phase carries this share more than the others. */
const imbalance = (c: SampleContext) => {
  const f = activeFault(c.faults, 'phase_imbalance', c.t);
  return f ? (f.magnitude ?? 0.4) : 0;
};

/** [sampler, decimals] per signal: how each file's values are made and rounded as a real logger writes them. */
const SAMPLERS: Record<string, [Sampler, number]> = {
  bms1_soc: [(c) => c.day.soc[c.k]!, 1],
  bms1_soh: [(c) => c.day.soh[c.k]!, 1],
  bms1_v: [(c) => c.day.packVoltage[c.k]! + c.rng.normal(0, 0.1), 1],
  bms1_c: [(c) => c.day.current[c.k]!, 1],
  bms1_cell_ave_v: [(c) => c.day.cellAvgV[c.k]!, 3],
  bms1_cell_max_v: [(c) => c.day.cellMaxV[c.k]!, 3],
  bms1_cell_min_v: [(c) => c.day.cellMinV[c.k]!, 3],
  bms1_cell_v_diff: [(c) => c.day.cellMaxV[c.k]! - c.day.cellMinV[c.k]!, 3],
  bms1_cell_ave_t: [(c) => c.day.cellAvgT[c.k]! + noise(0.08)(c), 1],
  bms1_cell_max_t: [(c) => c.day.cellMaxT[c.k]! + noise(0.05)(c), 1],
  bms1_cell_min_t: [(c) => c.day.cellMinT[c.k]! + noise(0.05)(c), 1],
  bms1_cell_t_diff: [(c) => c.day.cellMaxT[c.k]! - c.day.cellMinT[c.k]!, 1],
  // Apparent power and RMS phase currents are magnitudes: noise never takes them below zero.
  pcs1_ap: [(c) => Math.max(0, apparentPower(c) + noise(0.2)(c)), 1],
  pcs1_dcc: [(c) => c.day.current[c.k]! + noise(0.5)(c), 1],
  pcs1_dcv: [(c) => c.day.packVoltage[c.k]! + 1.5 + noise(0.3)(c), 1],
  pcs1_ia: [(c) => Math.max(0, phaseCurrent(c) * (1 + imbalance(c)) + phaseNoise(c)), 1],
  pcs1_ib: [(c) => Math.max(0, phaseCurrent(c) + phaseNoise(c)), 1],
  pcs1_ic: [(c) => Math.max(0, phaseCurrent(c) + phaseNoise(c)), 1],
  pcs1_uab: [(c) => 400 + noise(1.2)(c), 1],
  pcs1_ubc: [(c) => 399 + noise(1.2)(c), 1],
  pcs1_uca: [(c) => 401 + noise(1.2)(c), 1],
  pcs1_t_env: [(c) => ambient(c) + 6 + noise(0.2)(c), 1],
  pcs1_t_a: [(c) => ambient(c) + 3 + noise(0.2)(c), 1],
  pcs1_t_igbt: [(c) => 32 + 0.22 * load(c) + 0.3 * ambient(c) + noise(0.3)(c), 1],
  ac1_outside_t: [(c) => ambient(c), 1],
  ac1_outwater_t: [(c) => 18 + load(c) / 40 + noise(0.1)(c), 1],
  ac1_rtnwater_t: [(c) => 19.5 + load(c) / 25 + noise(0.1)(c), 1],
  ac1_outwater_pre: [(c) => 2.6 + noise(0.02)(c), 2],
  ac1_rtnwater_pre: [(c) => 2.1 + noise(0.02)(c), 2],
  aux_m_ap: [(c) => 1.2 + load(c) / 60 + Math.max(0, ambient(c) - 20) * 0.1 + noise(0.05)(c), 2],
  aux_m_pf: [(c) => 0.92 + noise(0.005)(c), 3],
  aux_m_i: [(c) => (1.2 + load(c) / 60) / (0.4 * Math.sqrt(3) * 0.92) + noise(0.05)(c), 2],
  aux_m_pos_ae: [(c) => 1000 + c.hours * 1.6, 1],
  aux_m_neg_ae: [() => 0, 1],
  dh1_humi: [(c) => 45 - 0.8 * (ambient(c) - 15) + noise(1)(c), 1],
  dh1_temp: [(c) => ambient(c) + 4 + noise(0.2)(c), 1],
};
for (let n = 1; n <= 5; n++) {
  SAMPLERS[`fa${n}_smokeFlag`] = [() => 0, 0];
  SAMPLERS[`fa${n}_co`] = [(c) => Math.max(0, c.rng.normal(1.5, 1)), 0];
  SAMPLERS[`fa${n}_voc`] = [(c) => Math.max(0, c.rng.normal(12, 3)), 0];
  SAMPLERS[`fa${n}_level`] = [() => 0, 0];
  SAMPLERS[`fa${n}_errcode`] = [() => 0, 0];
  SAMPLERS[`fa${n}_t1`] = [(c) => ambient(c) + 4 + noise(0.3)(c), 1];
  SAMPLERS[`fa${n}_t2`] = [(c) => ambient(c) + 4.2 + noise(0.3)(c), 1];
}

/**
 * The sampler and rounding of any catalogued signal, per-cell ones included; temperatures are
 * logged at the cabinet's sensor resolution.
 */
export function samplerFor(signal: string, profile: CabinetProfile): [Sampler, number] {
  const [sample, decimals] = modelOf(signal);
  return [sample, describeSignal(signal).unit === '°C' ? Math.min(decimals, profile.temperatureDecimals) : decimals];
}

function modelOf(signal: string): [Sampler, number] {
  const known = SAMPLERS[signal];
  if (known) return known;
  const cell = parseCellSignal(signal);
  if (!cell) throw new Error(`the generator has no model for ${signal}`);
  const i = (cell.pack - 1) * CABINET.cellsPerPack + (cell.cell - 1);
  return cell.quantity === 'voltage'
    ? [(c) => c.model.cellVoltage(c.day, c.k, i, c.t) + noise(0.0005)(c), 3]
    : [(c) => c.model.cellTemperature(c.day, c.k, i, c.t) + noise(0.05)(c), 1];
}
