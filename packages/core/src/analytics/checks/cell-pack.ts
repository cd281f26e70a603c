import { CABINET, type SignalSpec } from '../../catalog.js';
import type { AnomalyKind } from '../events.js';
import { round, type Condition, type Finding, type See } from '../condition.js';
import { LogHistogram, median3, medianInPlace, robustSpread, SlidingMedian } from '../stats.js';
import { CELL_AVERAGES } from '../rules.js';
import type { DeviceState, Latest } from './context.js';

/**
 * A cell out of line with its pack, inside the absolute cell limits: a weak cell sagging below
 * its neighbours, a hot cell above them. Each cell reading is taken against the cabinet's
 * average cell at the same moment (so a load step moves every cell alike), less that cell's own
 * usual offset (learned slowly as a line in the pack current, since under load a cell's resistance
 * moves it; not learned while it is out of line), and compared with the rest of
 * its pack. Each cell is judged on the median of its last three such excesses (one reading can
 * catch the cell and the reference either side of a load step): out of line when that is `floor`
 * (plus one step of the sensors' resolution, which rounding can add) beyond the pack's median, `SD_FACTOR` times the pack's robust spread of the same medians, and
 * beyond the largest this pack's cells usually show (where cells and reference are logged moments
 * apart while a regulating current moves, that is tens of mV). Severity: critical at twice the limit.
 */
export const CELL_VS_PACK = {
  voltage: {
    kind: 'weak_cell_voltage',
    high: false,
    reference: CELL_AVERAGES.voltage,
    floor: 0.05,
    scale: 1000,
    unit: 'mV',
  },
  temperature: {
    kind: 'cell_overtemp',
    high: true,
    reference: CELL_AVERAGES.temperature,
    floor: 4,
    scale: 1,
    unit: '°C',
  },
} as const satisfies Record<
  'voltage' | 'temperature',
  { kind: AnomalyKind; high: boolean; reference: string; floor: number; scale: number; unit: string }
>;
const SD_FACTOR = 5;
/** Readings of a pack's other cells its "level" is taken from (about a minute and a half of a pack logged every 10 min). */
const NEAR = 8;
/** The limit is at least this many times the pack's usual largest excess (its 99.9th percentile)... */
const USUAL_FACTOR = 1.4;
/** ...once it has seen this many (about six hours of a pack's cells every 10 minutes). */
const USUAL_LEARNED = 2_000;
/** Readings a cell's offset is averaged over (about a day of readings every 10 minutes). */
const OFFSET_READINGS = 144;
/** A cell is judged once its offset has this many readings, in a pack with this many cells reporting. */
const MIN_LEARNED = 6;
const MIN_CELLS = 8;
/** Below this variance of its load (A²) a cell's offset is taken as flat: too little current seen to fit a slope. */
const MIN_LOAD_VARIANCE = 25;
/**
 * Filtered readings in a row a cell must be out of line on before it is called (three raw readings
 * at least): a regulating current read at the cell's instant and, a minute apart, for its
 * reference throws one or two readings of several cells at once out of line.
 */
const IN_A_ROW = 2;
/** A reference reading older than this is not "the same moment". */
const REFERENCE_FRESH_MS = 10 * 60_000;

/** One pack's cells of one quantity: each cell's newest deviation and its learned offset. */
export class PackCells {
  /**
   * Each cell's learned offset from its pack, as a line in the pack current (a cell's resistance
   * differs from its neighbours', so under load its offset moves): exponentially weighted means of
   * current and offset, the current's variance and their covariance.
   */
  private readonly meanI = new Float64Array(CABINET.cellsPerPack);
  private readonly meanOffset = new Float64Array(CABINET.cellsPerPack);
  private readonly varI = new Float64Array(CABINET.cellsPerPack);
  private readonly covIO = new Float64Array(CABINET.cellsPerPack);
  /** Each cell's newest deviation net of its offset. */
  private readonly adjusted = new Float64Array(CABINET.cellsPerPack).fill(NaN);
  private readonly current: Latest;
  private readonly learned = new Uint32Array(CABINET.cellsPerPack);
  /** Each cell's last three excesses over the pack, and their median. */
  private readonly recent = new Float64Array(3 * CABINET.cellsPerPack).fill(NaN);
  private readonly filtered = new Float64Array(CABINET.cellsPerPack).fill(NaN);
  /** How many filtered readings in a row each cell has been out of line on. */
  private readonly outInARow = new Uint8Array(CABINET.cellsPerPack);
  /** Sizes of the filtered excesses of cells in line: what this pack's cells usually show. */
  private readonly usual = new LogHistogram(1e-4);
  private readonly scratch = new Float64Array(CABINET.cellsPerPack);
  /** Each cell's last raw reading, and the smallest step between two readings of a cell: the sensors' resolution. */
  private readonly lastRaw = new Float64Array(CABINET.cellsPerPack).fill(NaN);
  private resolution = Infinity;
  private center = NaN;
  private readonly near = new SlidingMedian(NEAR);
  private spread = NaN;
  private sinceRefresh = Infinity;
  private readonly reference: Latest;
  /** Whether deviations are taken against the reference (or raw, without one): a change starts the comparison over. */
  private referenced: boolean | null = null;

  constructor(
    readonly quantity: 'voltage' | 'temperature',
    state: DeviceState,
  ) {
    this.reference = state.latestOf(CELL_VS_PACK[quantity].reference);
    this.current = state.currentReading;
  }

  /** The load a cell's offset depends on: the pack current for a voltage (its IR drop), its size for a temperature. */
  private load(t: number): number {
    const fresh = t - this.current.t <= REFERENCE_FRESH_MS;
    if (!fresh) return NaN;
    return this.quantity === 'voltage' ? this.current.v : Math.abs(this.current.v);
  }

  private offsetOf(i: number, load: number): number {
    const slope = this.varI[i]! > MIN_LOAD_VARIANCE ? this.covIO[i]! / this.varI[i]! : 0;
    return Number.isNaN(load) ? this.meanOffset[i]! : this.meanOffset[i]! + slope * (load - this.meanI[i]!);
  }

  check(spec: SignalSpec, cell: number, c: Condition): See {
    const o = CELL_VS_PACK[this.quantity];
    const i = cell - 1;
    return (t, v) => {
      const step = Math.abs(v - this.lastRaw[i]!);
      if (step > 1e-9 && step < this.resolution) this.resolution = step;
      this.lastRaw[i] = v;
      const fresh = t - this.reference.t <= REFERENCE_FRESH_MS;
      if (fresh !== this.referenced) this.restart(fresh);
      const deviation = v - (fresh ? this.reference.v : 0);
      const load = this.load(t);
      this.adjusted[i] = deviation - this.offsetOf(i, load);
      if (++this.sinceRefresh >= CABINET.cellsPerPack) this.refresh();
      // Until the pack has a level, nothing to learn against.
      if (Number.isNaN(this.center)) return null;
      const center = this.nearCenter(this.adjusted[i]);
      const excess = this.adjusted[i] - center;
      const r = this.recent;
      r[3 * i + 2] = r[3 * i + 1]!;
      r[3 * i + 1] = r[3 * i]!;
      r[3 * i] = excess;
      const filtered = median3(r[3 * i]!, r[3 * i + 1]!, r[3 * i + 2]!);
      this.filtered[i] = filtered;
      // The cell and its reference are each rounded to the sensors' resolution: their difference, by up to one step.
      const floor = o.floor + (Number.isFinite(this.resolution) ? this.resolution : 0);
      // Until the pack's usual excesses are known, twice the floor: a regulating cabinet's first hours are noisy.
      const usual = this.usual.total >= USUAL_LEARNED ? USUAL_FACTOR * this.usual.quantile(0.999) : 2 * floor;
      const limit = Math.max(floor, SD_FACTOR * this.spread, usual);
      const out = o.high ? filtered : -filtered;
      if (!Number.isNaN(filtered) && out < limit && !c.holding) this.usual.add(Math.abs(filtered));
      const judged = this.learned[i]! >= MIN_LEARNED && !Number.isNaN(filtered);
      this.learn(i, deviation - center, load, (o.high ? excess : -excess) >= limit / 2 || c.holding);
      if (!judged || out < limit) {
        this.outInARow[i] = 0;
        return null;
      }
      if (this.outInARow[i]! < IN_A_ROW) this.outInARow[i]!++;
      if (this.outInARow[i]! < IN_A_ROW && !c.holding) return null;
      return cellFinding(spec, v, out, limit, o);
    };
  }

  /**
   * Deviations change meaning (against the reference, or raw): what was read before is dropped.
   * The learned offsets stay: they are relative to the pack, which moves with the reference alike.
   */
  private restart(referenced: boolean): void {
    this.referenced = referenced;
    this.adjusted.fill(NaN);
    this.recent.fill(NaN);
    this.filtered.fill(NaN);
    this.outInARow.fill(0);
    this.center = NaN;
    this.near.clear();
    this.sinceRefresh = Infinity;
  }

  /**
   * The pack's level around this reading: the median of the last `NEAR` readings of its cells (net of
   * their offsets), which were taken within a minute or two of it, so a load step or a jump of the
   * reference moves them alike; the whole pack's median until that many have been read.
   */
  private nearCenter(adjusted: number): number {
    const center = this.near.count >= NEAR / 2 ? this.near.median() : this.center;
    this.near.push(adjusted);
    return center;
  }

  /** A cell's offset follows its deviation from the pack slowly, and not while it is out of line. */
  private learn(i: number, relative: number, load: number, outOfLine: boolean): void {
    if (outOfLine) return;
    const w = 1 / Math.min(++this.learned[i]!, OFFSET_READINGS);
    const x = Number.isNaN(load) ? this.meanI[i]! : load;
    const dI = x - this.meanI[i]!;
    const dO = relative - this.meanOffset[i]!;
    this.meanI[i]! += w * dI;
    this.meanOffset[i]! += w * dO;
    this.varI[i] = (1 - w) * (this.varI[i]! + w * dI * dI);
    this.covIO[i] = (1 - w) * (this.covIO[i]! + w * dI * dO);
  }

  /** The pack's median of the cells' deviations net of their offsets, and the robust spread of their filtered excesses. */
  private refresh(): void {
    this.sinceRefresh = 0;
    const s = this.scratch;
    let n = 0;
    for (let k = 0; k < this.adjusted.length; k++) if (!Number.isNaN(this.adjusted[k]!)) s[n++] = this.adjusted[k]!;
    if (n < MIN_CELLS) return;
    this.center = medianInPlace(s, n);
    n = 0;
    for (let k = 0; k < this.filtered.length; k++) if (!Number.isNaN(this.filtered[k]!)) s[n++] = this.filtered[k]!;
    this.spread = n >= MIN_CELLS ? robustSpread(s, n).sd : 0;
  }
}

function cellFinding(
  spec: SignalSpec,
  v: number,
  out: number,
  limit: number,
  o: (typeof CELL_VS_PACK)['voltage' | 'temperature'],
): Finding {
  const shown = (x: number) => round(x * o.scale, 1);
  return {
    severity: out >= 2 * limit ? 'critical' : 'warning',
    observed: shown(out),
    threshold: shown(limit),
    beyond: (out - limit) * o.scale,
    message: `${spec.label} ${round(v)} ${spec.unit}, ${shown(out)} ${o.unit} ${o.high ? 'above' : 'below'} its pack and its own usual offset (limit ${shown(limit)} ${o.unit})`,
  };
}
