import { describeSignal, OPERATING_LIMITS, parseCellSignal, type SignalLimits, type SignalSpec } from '../catalog.js';
import type { AnomalyKind } from './events.js';

/**
 * What the batch and the streaming detector watch, and how: one table each, so a
 * live alert and a range scan of the same data agree. Levels come from the catalogue.
 */

export interface LimitRule {
  signal: string;
  high?: AnomalyKind;
  low?: AnomalyKind;
  /** Judge against another signal's catalogue limits (the average cell against the single-cell limits). */
  limitsOf?: string;
  /** Ignore excursions shorter than this (one noisy sample is not an alarm). */
  minDurationMs?: number;
  /** Judge only while the pack rests: the limit is a resting value (under load, every cell's IR drop adds to it). */
  atRest?: boolean;
  /**
   * For a cell temperature past its limit: `apart` speaks when the cell stands out from the
   * average cell (one hot cell), `together` when it is in line with it (the whole pack hot).
   */
  pack?: PackRelation;
}
/** How a cell past its limit stands to the average cell (`checks/limit.ts`, `standsApart`). */
export type PackRelation = 'apart' | 'together';

/**
 * Catalogue signals checked against their limits, and the kind each side of the limit means:
 * every signal the catalogue gives limits (a test holds this list to it).
 */
export const LIMIT_RULES: readonly LimitRule[] = [
  { signal: 'bms1_cell_max_t', high: 'cell_overtemp', pack: 'apart' },
  // The hottest cell at the limit in line with the average cell: the whole pack is hot (a heavy current, a hot day).
  { signal: 'bms1_cell_max_t', high: 'pack_overtemp', pack: 'together' },
  // Overcharge, the cell most often behind a thermal runaway; a single high reading is the rise
  // every cell shows under a charge pulse, as a single low one is the drop under a discharge pulse.
  { signal: 'bms1_cell_max_v', high: 'cell_overvoltage', minDurationMs: 2 * 60_000 },
  // Charging below freezing plates lithium.
  { signal: 'bms1_cell_min_t', low: 'cell_undertemp' },
  { signal: 'bms1_cell_t_diff', high: 'cell_temp_spread', minDurationMs: 5 * 60_000 },
  // A weak cell sags for as long as the load lasts; a single low reading is the pack's IR drop under a current pulse.
  { signal: 'bms1_cell_min_v', low: 'weak_cell_voltage', minDurationMs: 2 * 60_000 },
  // When the average cell is past a single cell's limit, the whole pack is (an empty or hot pack, not one bad cell).
  { signal: 'bms1_cell_ave_v', low: 'pack_undervoltage', limitsOf: 'bms1_cell_min_v' },
  { signal: 'bms1_cell_ave_v', high: 'pack_overvoltage', limitsOf: 'bms1_cell_max_v' },
  { signal: 'bms1_cell_ave_t', low: 'pack_undertemp', limitsOf: 'bms1_cell_min_t' },
  // A healthy pack's spread is below ~30 mV at rest; under load the cells' IR differences add tens of mV.
  { signal: 'bms1_cell_v_diff', high: 'cell_voltage_spread', minDurationMs: 5 * 60_000, atRest: true },
  { signal: 'bms1_c', high: 'current_spike', low: 'current_spike' },
  { signal: 'pcs1_t_igbt', high: 'igbt_overtemp' },
  { signal: 'bms1_soc', high: 'soc_out_of_band', low: 'soc_out_of_band', minDurationMs: 10 * 60_000 },
  { signal: 'dh1_temp', high: 'enclosure_overtemp' },
  // Condensation risk; humidity swings for minutes when a door opens.
  { signal: 'dh1_humi', high: 'enclosure_humidity', minDurationMs: 10 * 60_000 },
  // Every fire and gas detector reading that has a catalogue limit: a detector's own alarm
  // level and its temperatures are often the first sign of a thermal event.
  ...[1, 2, 3, 4, 5].flatMap((n) => [
    { signal: `fa${n}_smokeFlag`, high: 'smoke_detected' as const },
    { signal: `fa${n}_co`, high: 'co_high' as const },
    { signal: `fa${n}_voc`, high: 'voc_high' as const },
    { signal: `fa${n}_level`, high: 'fire_alarm' as const },
    { signal: `fa${n}_t1`, high: 'detector_overtemp' as const },
    { signal: `fa${n}_t2`, high: 'detector_overtemp' as const },
  ]),
];

/** The pack signals that summarise a cell quantity: its highest cell, its lowest. */
const CELL_SUMMARIES = {
  voltage: ['bms1_cell_max_v', 'bms1_cell_min_v'],
  temperature: ['bms1_cell_max_t', 'bms1_cell_min_t'],
} as const;

/** The pack signals that average a cell quantity over the cabinet's cells. */
export const CELL_AVERAGES = { voltage: 'bms1_cell_ave_v', temperature: 'bms1_cell_ave_t' } as const;

/** The pack signals that aggregate the cells' own readings, and how: each moves when what it aggregates moves. */
export const CELL_AGGREGATES: ReadonlyMap<string, CellAggregateSpec> = new Map(
  (['voltage', 'temperature'] as const).flatMap((quantity): [string, CellAggregateSpec][] => {
    const [highest, lowest] = CELL_SUMMARIES[quantity];
    const average = CELL_AVERAGES[quantity];
    return [
      [highest, { quantity, of: 'max' }],
      [lowest, { quantity, of: 'min' }],
      [average, { quantity, of: 'mean' }],
    ];
  }),
);
export type CellAggregateOf = 'mean' | 'max' | 'min';
interface CellAggregateSpec {
  quantity: 'voltage' | 'temperature';
  of: CellAggregateOf;
}

/** One side of a single cell's limits: the kind it raises and how long it must last. */
export interface CellSide {
  kind: AnomalyKind;
  high: boolean;
  minDurationMs: number;
  pack?: PackRelation;
}

/**
 * A single cell (per-cell files) is judged against the cell limits on both sides, like the pack
 * signal that summarises its quantity on that side: the same kind and minimum duration (a weak
 * cell stays low for the minimum cell voltage rule's duration, while one low reading is the IR
 * drop every cell shows under a current pulse), and the cell itself is named.
 */
export function cellSides(quantity: 'voltage' | 'temperature'): CellSide[] {
  const [highest, lowest] = CELL_SUMMARIES[quantity];
  // A single cell past its limit is judged as the one hot cell (`apart`); the pack-wide side is the hottest cell's alone.
  const high = LIMIT_RULES.find((r) => r.signal === highest && r.high && r.pack !== 'together')!;
  const low = LIMIT_RULES.find((r) => r.signal === lowest && r.low)!;
  return [
    { kind: high.high!, high: true, minDurationMs: high.minDurationMs ?? 0, ...(high.pack ? { pack: high.pack } : {}) },
    { kind: low.low!, high: false, minDurationMs: low.minDurationMs ?? 0 },
  ];
}

/**
 * Once a limit is crossed, the condition holds until the value is back inside by
 * this share of the warning-to-alarm distance, so a reading hovering at the limit
 * is one event, not a flapping series of them.
 */
const HYSTERESIS_SHARE = 0.2;

/** The value at which a crossed limit counts as cleared, per side. */
export function releaseLevel(limits: SignalLimits, high: boolean): number | undefined {
  const warn = high ? limits.warnHigh : limits.warnLow;
  const alarm = high ? limits.alarmHigh : limits.alarmLow;
  const trigger = warn ?? alarm;
  if (trigger === undefined) return undefined;
  const band = warn !== undefined && alarm !== undefined ? Math.abs(alarm - warn) * HYSTERESIS_SHARE : 0;
  return high ? trigger - band : trigger + band;
}

/** Fast temperature rise on the hottest cell, over a few minutes so one noisy reading is not a rate. */
export const FAST_RISE = {
  signal: 'bms1_cell_max_t',
  perMinute: OPERATING_LIMITS.cellTempRisePerMin,
  windowMs: 6 * 60_000,
} as const;

/** Spreads the BMS derives from the cell extremes: they hold one resolution step for days by nature, and the extremes are judged. */
const DERIVED_SPREADS = ['bms1_cell_v_diff', 'bms1_cell_t_diff'];

/**
 * Signals judged for a stuck sensor: every measurement except the per-cell files (the pack
 * check covers those), the derived spreads and discrete states (flags, levels, codes).
 * Whether a signal should be moving is then judged from its own readings.
 */
export function watchForStuck(spec: SignalSpec): boolean {
  return (
    parseCellSignal(spec.signal) === undefined &&
    !DERIVED_SPREADS.includes(spec.signal) &&
    !['flag', 'level', 'code'].includes(spec.unit)
  );
}
/** The device's heartbeat: fast signals that are always logged while it is online. */
export const HEARTBEAT_SIGNALS: readonly string[] = ['bms1_soc', 'pcs1_ap'];

/** The device counts as offline when its heartbeat is silent this long (or 3 of its periods, if longer). */
export const DEVICE_SILENCE_MS = 10 * 60_000;

/** The single-cell kind a pack-wide condition explains (and so replaces while it holds). */
export const PACK_WIDE: Partial<Record<AnomalyKind, AnomalyKind>> = {
  pack_undervoltage: 'weak_cell_voltage',
  pack_overvoltage: 'cell_overvoltage',
  pack_overtemp: 'cell_overtemp',
  pack_undertemp: 'cell_undertemp',
};

/** The limits a rule judges by. */
export function ruleLimits(rule: LimitRule): SignalLimits {
  return describeSignal(rule.limitsOf ?? rule.signal).limits ?? {};
}

/** A condition clear for less than this is still the same episode: one event, not one per flicker. */
export const MERGE_GAP_MS = 20 * 60_000;
