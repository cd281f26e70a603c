import { cellSignal } from '../catalog.js';

/** Fault kinds the generator can inject; the anomaly detector is scored against these names. */
export const FAULT_KINDS = [
  'cell_overtemp',
  'weak_cell_voltage',
  'current_spike',
  'sensor_stuck',
  'phase_imbalance',
  'offline_gap',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  kind: FaultKind;
  /** Epoch ms. */
  start: number;
  end: number;
  /** For cell faults: which cell. */
  pack?: number;
  cell?: number;
  /** For sensor_stuck: which signal. */
  signal?: string;
  /**
   * How strong, when not the reference plan's: a hot cell's excess (°C), a weak cell's sag (V),
   * a spike's size (multiples of the cabinet's dispatch current), a phase's excess share (0.3 = 30 % high).
   */
  magnitude?: number;
  /** A current spike's direction: 1 discharges, -1 charges. */
  sign?: number;
}

/** Ground truth as written to `<root>/faults.json`. */
export interface FaultLabel {
  device: string;
  kind: FaultKind;
  signals: string[];
  start: string;
  end: string;
  /** The fault's strength, in `FaultSpec.magnitude`'s units, when the plan drew one. */
  magnitude?: number;
  /** For sensor_stuck: what the sensor would have logged over the fault, had it not frozen. */
  truth?: LoggedTruth;
}

/** The lowest and highest values a signal would have logged, at its logged resolution. */
export interface LoggedTruth {
  min: number;
  max: number;
  resolution: number;
}

const HOUR = 3_600_000;

/**
 * The default fault plan of one device: each kind once, spread over the period
 * at operating hours where it shows (a weak cell sags under evening discharge,
 * a phase imbalance needs current flowing).
 */
export function defaultFaults(deviceIndex: number, start: number, days: number): FaultSpec[] {
  const day = (k: number) => start + Math.min(days - 1, Math.floor(((k + 1) * days) / 7)) * 24 * HOUR;
  const cell = 1 + ((deviceIndex * 17 + 5) % 52);
  const pack = 1 + (deviceIndex % 5);
  return [
    { kind: 'cell_overtemp', start: day(0) + 13 * HOUR, end: day(0) + 14.5 * HOUR, pack, cell },
    {
      kind: 'weak_cell_voltage',
      start: day(1) + 17.5 * HOUR,
      end: day(1) + 20 * HOUR,
      pack: 1 + ((pack + 1) % 5),
      cell: 1 + ((cell + 20) % 52),
    },
    { kind: 'current_spike', start: day(2) + 18 * HOUR, end: day(2) + 18 * HOUR + 3 * 60_000 },
    { kind: 'sensor_stuck', start: day(3) + 6 * HOUR, end: day(3) + 12 * HOUR, signal: 'bms1_cell_ave_t' },
    { kind: 'phase_imbalance', start: day(4) + 17.5 * HOUR, end: day(4) + 20 * HOUR },
    { kind: 'offline_gap', start: day(5) + 2 * HOUR, end: day(5) + 6 * HOUR },
  ];
}

export function faultSignals(f: FaultSpec): string[] {
  switch (f.kind) {
    case 'cell_overtemp':
      return [cellSignal(f.pack!, f.cell!, 'temperature'), 'bms1_cell_max_t'];
    case 'weak_cell_voltage':
      return [cellSignal(f.pack!, f.cell!, 'voltage'), 'bms1_cell_min_v'];
    case 'current_spike':
      return ['bms1_c', 'pcs1_dcc'];
    case 'sensor_stuck':
      return [f.signal ?? 'bms1_cell_ave_t'];
    case 'phase_imbalance':
      return ['pcs1_ia'];
    case 'offline_gap':
      return ['*'];
  }
}

export function activeFault(faults: readonly FaultSpec[], kind: FaultKind, t: number): FaultSpec | undefined {
  for (const f of faults) if (f.kind === kind && t >= f.start && t < f.end) return f;
  return undefined;
}
