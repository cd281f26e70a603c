import { CABINET, parseCellSignal, type SignalSpec } from '../../catalog.js';
import type { CellAggregateOf } from '../rules.js';
import { LogHistogram } from '../stats.js';

/** Slots of the short-term memory checks compare against: 10 minutes, kept for 8 days. */
const SLOT_MS = 10 * 60_000;
export const DAY_MS = 86_400_000;
const MEMORY_SLOTS = (8 * DAY_MS) / SLOT_MS;

/** The first and last slot wholly inside [from, to] (inclusive ms): a slot half outside holds readings from outside. */
function inside(from: number, to: number): [number, number] {
  return [Math.ceil(from / SLOT_MS), Math.floor((to + 1) / SLOT_MS) - 1];
}

/** The newest reading of a signal (NaN time until the first). */
export interface Latest {
  t: number;
  v: number;
}

/**
 * Per-slot minima and maxima of one quantity over the last 8 days: the memory a check uses to
 * ask "what did this do at the same hours on other days?" in O(1) per reading.
 */
export class SlotMemory {
  private readonly id = new Float64Array(MEMORY_SLOTS).fill(NaN);
  private readonly min = new Float64Array(MEMORY_SLOTS);
  private readonly max = new Float64Array(MEMORY_SLOTS);

  add(t: number, v: number): void {
    const slot = Math.floor(t / SLOT_MS);
    const k = slot % MEMORY_SLOTS;
    if (this.id[k] !== slot) {
      this.id[k] = slot;
      this.min[k] = v;
      this.max[k] = v;
    } else if (v < this.min[k]!) this.min[k] = v;
    else if (v > this.max[k]!) this.max[k] = v;
  }

  /** Range (max - min) over the slots wholly inside [from, to], or null when fewer than half of them have readings. */
  range(from: number, to: number): number | null {
    const [first, last] = inside(from, to);
    if (last < first) return null;
    let low = Infinity;
    let high = -Infinity;
    let seen = 0;
    for (let slot = first; slot <= last; slot++) {
      const k = slot % MEMORY_SLOTS;
      if (this.id[k] !== slot) continue;
      seen++;
      if (this.min[k]! < low) low = this.min[k]!;
      if (this.max[k]! > high) high = this.max[k]!;
    }
    return seen * 2 >= last - first + 1 ? high - low : null;
  }

  /**
   * Range over the slots wholly inside [from, to] between the second lowest minimum and the second
   * highest maximum: a move held for two slots, not one reading's excursion. Null with fewer than
   * three slots with readings.
   */
  steadyRange(from: number, to: number): number | null {
    const [first, last] = inside(from, to);
    let low = Infinity;
    let low2 = Infinity;
    let high = -Infinity;
    let high2 = -Infinity;
    let seen = 0;
    for (let slot = first; slot <= last; slot++) {
      const k = slot % MEMORY_SLOTS;
      if (this.id[k] !== slot) continue;
      seen++;
      const min = this.min[k]!;
      const max = this.max[k]!;
      if (min < low) [low2, low] = [low, min];
      else if (min < low2) low2 = min;
      if (max > high) [high2, high] = [high, max];
      else if (max > high2) high2 = max;
    }
    return seen >= 3 ? Math.max(0, high2 - low2) : null;
  }

  /** How many slots wholly inside [from, to] have a maximum that reached `level` (slots without readings do not). */
  countAtLeast(from: number, to: number, level: number): number {
    const [first, last] = inside(from, to);
    let hits = 0;
    for (let slot = first; slot <= last; slot++) {
      const k = slot % MEMORY_SLOTS;
      if (this.id[k] === slot && this.max[k]! >= level) hits++;
    }
    return hits;
  }
}

/** The cells' aggregates are averaged over this many of the cells' periods: one reading's noise is not a move. */
const SMOOTHING_PERIODS = 2;
/** A move is counted from this many periods after a change: every cell read again, the average caught up. */
const SETTLE_PERIODS = 2 + SMOOTHING_PERIODS;
/** The aggregates are sampled for the average at most this often. */
const SAMPLE_MS = 60_000;

/** The average of the last `size` values pushed. */
class MovingAverage {
  private readonly ring: Float64Array;
  private pushed = 0;
  private sum = 0;

  constructor(size: number) {
    this.ring = new Float64Array(size);
  }

  push(x: number): number {
    const slot = this.pushed++ % this.ring.length;
    if (this.pushed > this.ring.length) this.sum -= this.ring[slot]!;
    this.ring[slot] = x;
    this.sum += x;
    return this.sum / Math.min(this.pushed, this.ring.length);
  }
}

/**
 * The mean, highest and lowest of the cabinet's cells of one quantity, from each cell's newest
 * reading, averaged over two of the cells' periods and remembered slot by slot: what the pack's own average,
 * maximum and minimum signals aggregate, so the stuck check can ask whether they should have moved.
 */
export class CellAggregate {
  private readonly values = new Float64Array(CABINET.packs * CABINET.cellsPerPack).fill(NaN);
  private sum = 0;
  private count = 0;
  private max = -Infinity;
  private min = Infinity;
  /** How many cells read the highest value, and the lowest. */
  private atMax = 0;
  private atMin = 0;
  private sampledAt = -Infinity;
  private readonly averages: Record<CellAggregateOf, MovingAverage>;
  private readonly memory: Record<CellAggregateOf, SlotMemory> = {
    mean: new SlotMemory(),
    max: new SlotMemory(),
    min: new SlotMemory(),
  };
  private readonly settleMs: number;

  /** `cellPeriodMs`: the longest period of the cells' own signals. */
  constructor(cellPeriodMs: number) {
    const samples = Math.max(1, Math.round((SMOOTHING_PERIODS * cellPeriodMs) / SAMPLE_MS));
    this.averages = {
      mean: new MovingAverage(samples),
      max: new MovingAverage(samples),
      min: new MovingAverage(samples),
    };
    this.settleMs = SETTLE_PERIODS * cellPeriodMs;
  }

  /**
   * How far the averaged aggregate moved over [from, to], from the settling time after `from`:
   * just after a change the cells' newest readings still straddle it. Null when unknown.
   */
  movedOver(of: CellAggregateOf, from: number, to: number): number | null {
    return this.memory[of].range(from + this.settleMs, to);
  }

  record(index: number, t: number, v: number): void {
    const old = this.values[index]!;
    this.values[index] = v;
    if (Number.isNaN(old)) this.count++;
    else {
      this.sum -= old;
      if (old === this.max) this.atMax--;
      if (old === this.min) this.atMin--;
    }
    this.sum += v;
    if (v > this.max) {
      this.max = v;
      this.atMax = 1;
    } else if (v === this.max) this.atMax++;
    if (v < this.min) {
      this.min = v;
      this.atMin = 1;
    } else if (v === this.min) this.atMin++;
    // The last cell at an extreme left it: the new extreme is found among them all.
    if (this.atMax === 0 || this.atMin === 0) this.recompute();
    if (t - this.sampledAt < SAMPLE_MS) return;
    this.sampledAt = t;
    this.memory.mean.add(t, this.averages.mean.push(this.sum / this.count));
    this.memory.max.add(t, this.averages.max.push(this.max));
    this.memory.min.add(t, this.averages.min.push(this.min));
  }

  private recompute(): void {
    let max = -Infinity;
    let min = Infinity;
    let atMax = 0;
    let atMin = 0;
    let sum = 0;
    for (const x of this.values) {
      if (Number.isNaN(x)) continue;
      if (x > max) {
        max = x;
        atMax = 1;
      } else if (x === max) atMax++;
      if (x < min) {
        min = x;
        atMin = 1;
      } else if (x === min) atMin++;
      sum += x;
    }
    this.max = max;
    this.atMax = atMax;
    this.min = min;
    this.atMin = atMin;
    // Summed afresh now and then, so rounding does not build up over months of readings.
    this.sum = sum;
  }
}

/** A signal the stuck check watches: its slot memory and its resolution step, which its siblings read. */
export interface WatchedSignal {
  /** The signal's label, as messages name it. */
  label: string;
  memory: SlotMemory;
  resolution: number;
}

/** A slot counts as dispatching when its largest current reaches this share of the cabinet's usual peak. */
const ACTIVE_SHARE_OF_PEAK = 0.15;
/** The pack rests when its current is within this share of its usual peak... */
const REST_SHARE_OF_PEAK = 0.05;
/** ...as last read no longer ago than this, and has for at least `REST_MIN_MS`. */
const REST_FRESH_MS = 5 * 60_000;
const REST_MIN_MS = 2 * 60_000;

/**
 * What the checks of one device share: each signal's newest reading and whether the cabinet was
 * dispatching (current flowing), slot by slot, measured against its own usual peak current.
 */
export class DeviceState {
  private readonly latest = new Map<string, Latest>();
  /** Watched signals by quantity (subsystem and unit): each one's siblings. */
  private readonly byQuantity = new Map<string, WatchedSignal[]>();
  private readonly current = new SlotMemory();
  private readonly currentSizes = new LogHistogram(0.1);
  /** Rank of the current signal measured so far (lower is preferred): a cabinet's current is counted from one signal. */
  private currentRank = Infinity;
  private readonly lastCurrent: Latest = { t: NaN, v: NaN };

  /** Since when the current has read near zero without a break (Infinity while it flows). */
  private restSince = Infinity;
  readonly cells: Record<'voltage' | 'temperature', CellAggregate>;

  /**
   * `currentSignals`: the cabinet's current, in order of preference (the BMS pack current, or the
   * PCS DC current without one). `references`: signals whose newest reading checks read.
   * `cellPeriodMs`: the longest period of the cells' own signals.
   */
  constructor(
    readonly currentSignals: readonly string[],
    references: readonly string[],
    cellPeriodMs: number,
  ) {
    for (const signal of references) this.latest.set(signal, { t: NaN, v: NaN });
    this.cells = { voltage: new CellAggregate(cellPeriodMs), temperature: new CellAggregate(cellPeriodMs) };
  }

  /** Registers a watched signal in its quantity's group (its siblings and itself), which grows as more are seen. */
  quantityGroup(spec: SignalSpec, watched: WatchedSignal): readonly WatchedSignal[] {
    const key = `${spec.subsystem}|${spec.unit}`;
    let group = this.byQuantity.get(key);
    if (!group) this.byQuantity.set(key, (group = []));
    group.push(watched);
    return group;
  }

  /** The newest reading of the cabinet's current (NaN time until the first). */
  get currentReading(): Latest {
    return this.lastCurrent;
  }

  latestOf(signal: string): Latest {
    let l = this.latest.get(signal);
    if (!l) this.latest.set(signal, (l = { t: NaN, v: NaN }));
    return l;
  }

  /** What a signal's readings update here (its newest reading, the cabinet's current), or null when nothing. */
  recorder(signal: string): ((t: number, v: number) => void) | null {
    const cell = parseCellSignal(signal);
    if (cell) {
      if (cell.pack > CABINET.packs || cell.cell > CABINET.cellsPerPack) return null;
      const aggregate = this.cells[cell.quantity];
      const index = (cell.pack - 1) * CABINET.cellsPerPack + cell.cell - 1;
      return (t, v) => aggregate.record(index, t, v);
    }
    const latest = this.latest.get(signal);
    // The preferred current signal, else the first of the others the cabinet has.
    const current = this.currentSignals.includes(signal);
    if (!latest && !current) return null;
    const rank = this.currentSignals.indexOf(signal);
    return (t, v) => {
      if (latest) {
        latest.t = t;
        latest.v = v;
      }
      if (!current || rank > this.currentRank) return;
      this.currentRank = rank;
      const peak = this.peakCurrent();
      const resting = peak !== null && Math.abs(v) <= Math.max(2, REST_SHARE_OF_PEAK * peak);
      if (!resting) this.restSince = Infinity;
      else if (this.restSince === Infinity) this.restSince = t;
      this.lastCurrent.t = t;
      this.lastCurrent.v = v;
      const size = Math.abs(v);
      this.current.add(t, size);
      this.currentSizes.add(size);
    };
  }

  /** The cabinet's usual peak current (the 99th percentile of its current's size), or null before a few hours of it. */
  peakCurrent(): number | null {
    return this.currentSizes.total >= 240 ? this.currentSizes.quantile(0.99) : null;
  }

  /** Whether the pack rests at `t`: its current has read near zero (against its usual peak) for minutes, until recently (true when unknown). */
  atRest(t: number): boolean {
    const peak = this.peakCurrent();
    if (peak === null || !(t - this.lastCurrent.t <= REST_FRESH_MS)) return true;
    return this.lastCurrent.t - this.restSince >= REST_MIN_MS;
  }

  /** How many 10-minute slots of [from, to] the cabinet spent dispatching; all of them when its current is unknown. */
  activeSlots(from: number, to: number): number {
    const peak = this.peakCurrent();
    if (peak === null) {
      const [first, last] = inside(from, to);
      return Math.max(0, last - first + 1);
    }
    return this.current.countAtLeast(from, to, Math.max(1, ACTIVE_SHARE_OF_PEAK * peak));
  }
}
