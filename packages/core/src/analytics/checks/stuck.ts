import type { SignalSpec } from '../../catalog.js';
import { round, type Finding, type See } from '../condition.js';
import { medianInPlace } from '../stats.js';
import { DAY_MS, SlotMemory, type DeviceState, type WatchedSignal } from './context.js';

/**
 * A sensor is stuck when it repeats one value for hours while it should be moving: over the hold,
 * or in some hour of it, the same hours of the previous days, dispatched alike (as many 10-minute
 * slots with current flowing), saw it move by several of its own resolution steps. A cell voltage
 * holding one mV at rest, or a 1 °C temperature flat through a calm night, did the same on other
 * days and is not stuck; a temperature frozen through the daily cycle, or a voltage frozen while
 * current flows, is. And one of its siblings must have moved meanwhile: several sensors flat
 * together is a calm spell, not a frozen sensor.
 */
const STUCK = {
  minMs: 2 * 3_600_000,
  referenceDays: 7,
  /** The other days moved by at least this many resolution steps in that hour. */
  minSteps: 4,
  recheckMs: 10 * 60_000,
} as const;

const HOUR_MS = 3_600_000;

export function stuckCheck(spec: SignalSpec, state: DeviceState, silenceMs: number): See {
  const memory = new SlotMemory();
  const self: WatchedSignal = { memory, resolution: Infinity };
  const group = state.quantityGroup(spec, self);
  const bounded = spec.unit === '%';
  let lowest = Infinity;
  let highest = -Infinity;
  let runValue = NaN;
  let runStart = -1;
  let lastT = -1;
  let checkedAt = -Infinity;
  let expected: number | null = null;

  /** Median of the ranges (the least, with fewer than three); null without a reference day. */
  const typical = (ranges: number[]) =>
    ranges.length >= 3 ? medianInPlace(ranges) : ranges.length > 0 ? Math.min(...ranges) : null;

  /**
   * How much the signal should have moved over [from, to] (the last day of it): in any one whole
   * hour of it, and over the whole span, against the same span on the previous days dispatched
   * alike (as many 10-minute slots with current flowing). A charge at rest holds on those days too.
   */
  const expectedRange = (from: number, to: number): number | null => {
    const start = Math.max(from, to - DAY_MS);
    const ranges: number[] = [];
    const alike = (a: number, b: number, active: number, least = 1) => {
      ranges.length = 0;
      for (let d = 1; d <= STUCK.referenceDays; d++) {
        const range = memory.range(a - d * DAY_MS, b - d * DAY_MS);
        if (range !== null && state.activeSlots(a - d * DAY_MS, b - d * DAY_MS) === active) ranges.push(range);
      }
      return ranges.length >= least ? typical(ranges) : null;
    };
    // Over the span, the median of at least three days: a fault on one of them is not the usual.
    let most = alike(start, to, state.activeSlots(start, to), 3);
    for (let hour = Math.ceil(start / HOUR_MS) * HOUR_MS; hour + HOUR_MS <= to; hour += HOUR_MS) {
      const active = state.activeSlots(hour, hour + HOUR_MS - 1);
      const expected = alike(hour, hour + HOUR_MS - 1, active);
      if (expected !== null && (most === null || expected > most)) most = expected;
    }
    return most;
  };

  /**
   * Whether a sibling (a signal of the same quantity in the same subsystem: the other cell
   * temperatures, the other voltages) moved over [from, to] by two of its own steps: several
   * sensors flat together is a calm spell, not a frozen sensor. True for a signal without siblings.
   */
  const siblingMoved = (from: number, to: number): boolean => {
    let known = false;
    for (const s of group) {
      if (s === self) continue;
      const range = s.memory.range(from, to);
      if (range === null || !Number.isFinite(s.resolution)) continue;
      known = true;
      if (range >= 2 * s.resolution) return true;
    }
    return !known;
  };

  return (t, v) => {
    if (v < lowest) lowest = v;
    if (v > highest) highest = v;
    // Only the previous days' memory is compared with: this reading may join it at once.
    memory.add(t, v);
    const broken = lastT >= 0 && t - lastT > silenceMs;
    lastT = t;
    if (v !== runValue || broken) {
      const step = Math.abs(v - runValue);
      if (step > 1e-9 && step < self.resolution) self.resolution = step;
      runValue = v;
      runStart = t;
      expected = null;
      checkedAt = -Infinity;
      return null;
    }
    const held = t - runStart;
    if (held < STUCK.minMs) return null;
    const resolution = self.resolution;
    if (t - checkedAt >= STUCK.recheckMs && Number.isFinite(resolution)) {
      checkedAt = t;
      const range = expectedRange(runStart, t);
      // A bounded share (SOC, humidity) held at its own extreme is a clamp: a full pack, saturated air.
      // A temperature or voltage at its lowest so far is only a cool spell.
      const band = Math.max(2 * resolution, 0.02 * (highest - lowest));
      const clamped = bounded && (v >= highest - band || v <= lowest + band);
      expected =
        range !== null && range >= STUCK.minSteps * resolution && !clamped && siblingMoved(runStart, t) ? range : null;
    }
    if (expected === null) return null;
    return stuckFinding(spec, v, held, expected, runStart);
  };
}

function stuckFinding(spec: SignalSpec, v: number, heldMs: number, expected: number, since: number): Finding {
  const minutes = heldMs / 60_000;
  return {
    severity: 'warning',
    observed: round(minutes),
    threshold: round(STUCK.minMs / 60_000),
    beyond: heldMs - STUCK.minMs,
    message: `${spec.label} repeated ${v} ${spec.unit} for ${Math.round(minutes)} min; over the same hours on other days it moved ${round(expected, 3)} ${spec.unit}`,
    since,
  };
}
