/**
 * The signal catalogue: the one place that says what each telemetry file means.
 *
 * A cabinet folder holds one CSV per signal; the file stem is the signal name.
 * Everything else (record schemas, chart labels, OpenAPI, plausibility checks,
 * anomaly limits, the synthetic generator) derives from this module.
 *
 * This module must stay free of Node imports: the dashboard imports it too.
 */

export type Subsystem = 'bms' | 'pcs' | 'cooling' | 'aux' | 'env' | 'safety' | 'cell' | 'other';

/** Alarm thresholds for a signal; any side may be absent. */
export interface SignalLimits {
  warnLow?: number;
  warnHigh?: number;
  alarmLow?: number;
  alarmHigh?: number;
}

export interface SignalSpec {
  /** File stem, e.g. `bms1_soc`. */
  signal: string;
  subsystem: Subsystem;
  /** Field name in the aligned BMS/PCS record (seed schema), when the signal is part of one. */
  field?: string;
  label: string;
  unit: string;
  /** Physically plausible range; readings outside it are sensor faults, not data. */
  range: [number, number];
  /** Operating limits for the anomaly detector (configurable per deployment). */
  limits?: SignalLimits;
  /**
   * Indicative logging period in seconds, used only by the synthetic generator.
   * Ingestion and alignment always measure periods from the data.
   */
  nominalPeriodS: number;
}

/** Cabinet constants of the reference fleet (261 kWh LFP, 260 cells in series). */
export const CABINET = {
  capacityKwh: 261,
  capacityAh: 314,
  packs: 5,
  cellsPerPack: 52,
  cellsInSeries: 260,
  nominalVoltage: 832,
  cellVoltageMin: 2.5,
  cellVoltageMax: 3.65,
  pcsRatedKw: 125,
  /** End of life for warranty purposes: remaining useful life counts down to this SOH. */
  endOfLifeSoh: 80,
} as const;

/**
 * Limits on rates and ratios rather than one signal's level (warning level; the
 * alarm is at twice it). Configurable per deployment like the signal limits.
 */
export const OPERATING_LIMITS = {
  /** Cell temperature rise, °C per minute, sustained over a few minutes. */
  cellTempRisePerMin: 1,
} as const;

function spec(
  signal: string,
  subsystem: Subsystem,
  label: string,
  unit: string,
  range: [number, number],
  nominalPeriodS: number,
  extra: { limits?: SignalLimits } = {},
): SignalSpec {
  return { signal, subsystem, label, unit, range, nominalPeriodS, ...extra };
}

/** A signal of an aligned record; the literal field name types the record (see BmsRecord). */
function recordSpec<const F extends string>(
  field: F,
  signal: string,
  subsystem: Subsystem,
  label: string,
  unit: string,
  range: [number, number],
  nominalPeriodS: number,
  extra: { limits?: SignalLimits } = {},
): SignalSpec & { field: F } {
  return { ...spec(signal, subsystem, label, unit, range, nominalPeriodS, extra), field };
}

/** Signals that make up the aligned BMS record, in the seed's field order. */
export const BMS_SIGNALS = [
  recordSpec('soc', 'bms1_soc', 'bms', 'State of charge', '%', [0, 100], 60, {
    limits: { warnLow: 5, warnHigh: 98, alarmLow: 2, alarmHigh: 100 },
  }),
  recordSpec('soh', 'bms1_soh', 'bms', 'State of health', '%', [0, 110], 3600),
  recordSpec('voltage', 'bms1_v', 'bms', 'Pack voltage', 'V', [0, 1100], 60),
  recordSpec('current', 'bms1_c', 'bms', 'Pack current', 'A', [-700, 700], 60, {
    limits: { warnLow: -330, warnHigh: 330, alarmLow: -400, alarmHigh: 400 },
  }),
  recordSpec('cell_avg_voltage', 'bms1_cell_ave_v', 'bms', 'Cell voltage (avg)', 'V', [0, 5], 60),
  recordSpec('cell_avg_temp', 'bms1_cell_ave_t', 'bms', 'Cell temperature (avg)', '°C', [-40, 120], 120),
  recordSpec('cell_max_voltage', 'bms1_cell_max_v', 'bms', 'Cell voltage (max)', 'V', [0, 5], 60, {
    limits: { warnHigh: 3.6, alarmHigh: 3.65 },
  }),
  recordSpec('cell_min_voltage', 'bms1_cell_min_v', 'bms', 'Cell voltage (min)', 'V', [0, 5], 60, {
    limits: { warnLow: 2.9, alarmLow: 2.8 },
  }),
  recordSpec('cell_voltage_diff', 'bms1_cell_v_diff', 'bms', 'Cell voltage spread', 'V', [0, 2], 60, {
    limits: { warnHigh: 0.05, alarmHigh: 0.1 },
  }),
  recordSpec('cell_temp_diff', 'bms1_cell_t_diff', 'bms', 'Cell temperature spread', '°C', [0, 80], 120, {
    limits: { warnHigh: 8, alarmHigh: 15 },
  }),
  recordSpec('cell_max_temp', 'bms1_cell_max_t', 'bms', 'Cell temperature (max)', '°C', [-40, 120], 120, {
    limits: { warnHigh: 45, alarmHigh: 55 },
  }),
  recordSpec('cell_min_temp', 'bms1_cell_min_t', 'bms', 'Cell temperature (min)', '°C', [-40, 120], 120, {
    limits: { warnLow: 0, alarmLow: -10 },
  }),
] as const satisfies readonly SignalSpec[];

/** Signals that make up the aligned PCS record, in the seed's field order. */
export const PCS_SIGNALS = [
  recordSpec('apparent_power', 'pcs1_ap', 'pcs', 'Apparent power', 'kVA', [-400, 400], 30),
  recordSpec('dc_current', 'pcs1_dcc', 'pcs', 'DC current', 'A', [-700, 700], 30),
  recordSpec('dc_voltage', 'pcs1_dcv', 'pcs', 'DC voltage', 'V', [0, 1100], 30),
  recordSpec('ac_current_a', 'pcs1_ia', 'pcs', 'AC current phase A', 'A', [-600, 600], 30),
  recordSpec('ac_current_b', 'pcs1_ib', 'pcs', 'AC current phase B', 'A', [-600, 600], 30),
  recordSpec('ac_current_c', 'pcs1_ic', 'pcs', 'AC current phase C', 'A', [-600, 600], 30),
  recordSpec('ac_voltage_ab', 'pcs1_uab', 'pcs', 'AC voltage A-B', 'V', [0, 600], 30),
  recordSpec('ac_voltage_bc', 'pcs1_ubc', 'pcs', 'AC voltage B-C', 'V', [0, 600], 30),
  recordSpec('ac_voltage_ca', 'pcs1_uca', 'pcs', 'AC voltage C-A', 'V', [0, 600], 30),
  recordSpec('temp_environment', 'pcs1_t_env', 'pcs', 'Environment temperature', '°C', [-40, 100], 60),
  recordSpec('temp_ambient', 'pcs1_t_a', 'pcs', 'Ambient temperature', '°C', [-40, 100], 120),
  recordSpec('temp_igbt', 'pcs1_t_igbt', 'pcs', 'IGBT temperature', '°C', [-40, 150], 60, {
    limits: { warnHigh: 85, alarmHigh: 100 },
  }),
] as const satisfies readonly SignalSpec[];

/** Field names of the aligned records, taken from the catalogue's literal entries. */
export type BmsField = (typeof BMS_SIGNALS)[number]['field'];
export type PcsField = (typeof PCS_SIGNALS)[number]['field'];

/** An aligned record: the grid time (ISO 8601, UTC) and each field's reading as of it, null when none is fresh. */
export type RecordOf<F extends string> = { timestamp: string } & { [K in F]: number | null };
export type BmsRecord = RecordOf<BmsField>;
export type PcsRecord = RecordOf<PcsField>;
export interface RecordByKind {
  bms: BmsRecord;
  pcs: PcsRecord;
}

/** Cabinet signals outside the BMS/PCS records: cooling, auxiliary, enclosure, fire and gas. */
export const OTHER_SIGNALS: readonly SignalSpec[] = [
  spec('ac1_outside_t', 'cooling', 'Outside temperature', '°C', [-50, 70], 600),
  spec('ac1_outwater_t', 'cooling', 'Coolant outlet temperature', '°C', [-20, 80], 600),
  spec('ac1_rtnwater_t', 'cooling', 'Coolant return temperature', '°C', [-20, 80], 600),
  spec('ac1_outwater_pre', 'cooling', 'Coolant outlet pressure', 'bar', [0, 10], 600),
  spec('ac1_rtnwater_pre', 'cooling', 'Coolant return pressure', 'bar', [0, 10], 600),
  spec('aux_m_ap', 'aux', 'Auxiliary active power', 'kW', [-50, 50], 300),
  spec('aux_m_pf', 'aux', 'Auxiliary power factor', '', [-1, 1], 300),
  spec('aux_m_i', 'aux', 'Auxiliary current', 'A', [0, 200], 300),
  spec('aux_m_pos_ae', 'aux', 'Auxiliary energy imported', 'kWh', [0, 1e9], 300),
  spec('aux_m_neg_ae', 'aux', 'Auxiliary energy exported', 'kWh', [0, 1e9], 300),
  spec('dh1_humi', 'env', 'Enclosure humidity', '%', [0, 100], 600, { limits: { warnHigh: 85, alarmHigh: 95 } }),
  spec('dh1_temp', 'env', 'Enclosure temperature', '°C', [-40, 80], 600, { limits: { warnHigh: 40, alarmHigh: 50 } }),
  ...[1, 2, 3, 4, 5].flatMap((n) => [
    spec(`fa${n}_smokeFlag`, 'safety', `Fire detector ${n} smoke flag`, 'flag', [0, 1], 600, {
      limits: { alarmHigh: 0.5 },
    }),
    spec(`fa${n}_co`, 'safety', `Fire detector ${n} CO`, 'ppm', [0, 5000], 600, {
      limits: { warnHigh: 50, alarmHigh: 200 },
    }),
    spec(`fa${n}_voc`, 'safety', `Fire detector ${n} VOC`, 'ppm', [0, 5000], 600, {
      limits: { warnHigh: 100, alarmHigh: 500 },
    }),
    spec(`fa${n}_level`, 'safety', `Fire detector ${n} alarm level`, 'level', [0, 10], 600, {
      limits: { alarmHigh: 0.5 },
    }),
    spec(`fa${n}_errcode`, 'safety', `Fire detector ${n} error code`, 'code', [0, 65535], 600),
    spec(`fa${n}_t1`, 'safety', `Fire detector ${n} temperature 1`, '°C', [-40, 150], 600, {
      limits: { warnHigh: 55, alarmHigh: 70 },
    }),
    spec(`fa${n}_t2`, 'safety', `Fire detector ${n} temperature 2`, '°C', [-40, 150], 600, {
      limits: { warnHigh: 55, alarmHigh: 70 },
    }),
  ]),
];

const CELL_SIGNAL = /^bms1_p([1-9]\d*)_([vt])([1-9]\d*)$/;

export interface CellAddress {
  pack: number;
  cell: number;
  quantity: 'voltage' | 'temperature';
}

/** Per-cell signal name, e.g. `cellSignal(2, 17, 'voltage')` is `bms1_p2_v17`. */
export function cellSignal(pack: number, cell: number, quantity: CellAddress['quantity']): string {
  return `bms1_p${pack}_${quantity === 'voltage' ? 'v' : 't'}${cell}`;
}

export function parseCellSignal(signal: string): CellAddress | undefined {
  const m = CELL_SIGNAL.exec(signal);
  if (!m) return undefined;
  return { pack: Number(m[1]), cell: Number(m[3]), quantity: m[2] === 'v' ? 'voltage' : 'temperature' };
}

const VOLTAGE_CELL_LIMITS: SignalLimits = { warnLow: 2.9, warnHigh: 3.6, alarmLow: 2.8, alarmHigh: 3.65 };
const TEMPERATURE_CELL_LIMITS: SignalLimits = { warnHigh: 45, alarmHigh: 55, warnLow: 0, alarmLow: -10 };

/** All 520 per-cell signals of a cabinet, pack by pack. */
export function allCellSignals(quantity?: CellAddress['quantity']): string[] {
  const out: string[] = [];
  const quantities: CellAddress['quantity'][] = quantity ? [quantity] : ['voltage', 'temperature'];
  for (const q of quantities)
    for (let p = 1; p <= CABINET.packs; p++)
      for (let c = 1; c <= CABINET.cellsPerPack; c++) out.push(cellSignal(p, c, q));
  return out;
}

const KNOWN = new Map<string, SignalSpec>([...BMS_SIGNALS, ...PCS_SIGNALS, ...OTHER_SIGNALS].map((s) => [s.signal, s]));

/**
 * What a signal file is. Unknown stems are still ingested and served (subsystem
 * `other`, no unit): the real dataset may hold signals this catalogue has not met.
 */
export function describeSignal(signal: string): SignalSpec {
  const known = KNOWN.get(signal);
  if (known) return known;
  const cell = parseCellSignal(signal);
  if (cell) {
    const isV = cell.quantity === 'voltage';
    return {
      signal,
      subsystem: 'cell',
      label: `Pack ${cell.pack} cell ${cell.cell} ${isV ? 'voltage' : 'temperature'}`,
      unit: isV ? 'V' : '°C',
      range: isV ? [0, 5] : [-40, 120],
      limits: isV ? VOLTAGE_CELL_LIMITS : TEMPERATURE_CELL_LIMITS,
      nominalPeriodS: isV ? 300 : 600,
    };
  }
  return { signal, subsystem: 'other', label: signal, unit: '', range: [-Infinity, Infinity], nominalPeriodS: 60 };
}

/** The two aligned record kinds the API serves. */
export type RecordKind = 'bms' | 'pcs';

export const RECORD_SIGNALS = {
  bms: BMS_SIGNALS,
  pcs: PCS_SIGNALS,
} as const satisfies Record<RecordKind, readonly (SignalSpec & { field: string })[]>;

/** Field name -> spec, for chart labels and units. */
export function fieldSpec(kind: RecordKind, field: string): SignalSpec | undefined {
  return (RECORD_SIGNALS[kind] as readonly SignalSpec[]).find((s) => s.field === field);
}

/** Every catalogued signal of a full cabinet (with or without the 520 per-cell files). */
export function cabinetSignals(withCells: boolean): SignalSpec[] {
  const base = [...BMS_SIGNALS, ...PCS_SIGNALS, ...OTHER_SIGNALS];
  return withCells ? [...base, ...allCellSignals().map(describeSignal)] : base;
}
