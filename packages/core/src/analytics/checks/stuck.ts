import type { SignalSpec } from '../../catalog.js';
import { round, type Finding, type See } from '../condition.js';
import { medianInPlace } from '../stats.js';
import { CELL_AGGREGATES } from '../rules.js';
import { DAY_MS, SlotMemory, type DeviceState, type WatchedSignal } from './context.js';

/**
 * A sensor is stuck when it repeats one value for hours while it should be moving: over the hold,
 * or in some hour of it, the same hours of the previous days, dispatched alike (as many 10-minute
 * slots with current flowing), saw it move by several of its own resolution steps. A cell voltage
 * holding one mV at rest, or a 1 °C temperature flat through a calm night, did the same on other
 * days and is not stuck; a temperature frozen through the daily cycle, or a voltage frozen while
 * current flows, is. And one of its siblings must have moved meanwhile: several sensors flat
 * together is a calm spell, not a frozen sensor. A slow sensor (a 1 °C temperature that moves 2-3
 * steps in those hours) is stuck too when its siblings climb now by as much as it would have with them,
 * or when a partner it stepped with on other days (a coolant outlet with its return) steps without it.
 */
const STUCK = {
  minMs: 2 * 3_600_000,
  referenceDays: 7,
  /** The other days moved by at least this many resolution steps in that hour. */
  minSteps: 4,
  /** Or its siblings' movement now, scaled by how it moved with them on other days, is this many steps... */
  siblingSteps: 3,
  /** ...and it moved at least this many on those days itself. */
  ownSteps: 2,
  /**
   * An aggregate of the cells is stuck when the cells' own readings moved it (averaged over two
   * cell periods) by this many of its steps: a mean is smooth, and moving over more than a step it must change; the
   * highest or lowest cell, read minutes apart from the BMS's own reading, may differ from it by a
   * step.
   */
  aggregateSteps: { mean: 1.25, max: 2, min: 2 },
  recheckMs: 10 * 60_000,
  /** A state of charge moves only with charge: it is judged over holds with this many 10-minute slots dispatching. */
  chargeSlots: 2,
  /**
   * A partner is a sibling the signal moved with on the previous days, judged over hour-long
   * windows every half hour: in at least `share` of the (at least `pastWindows`) windows where the
   * partner moved enough to move the signal by `steps` of its steps, it did. It is stuck when the
   * partner moved that much in `nowWindows` windows of the hold: one step of the partner, held for
   * two slots, is evidence enough once the signal followed nine in ten of them before.
   */
  partner: { steps: 2, share: 0.9, pastWindows: 12, nowWindows: 1 },
} as const;

const HOUR_MS = 3_600_000;
const HALF_HOUR_MS = HOUR_MS / 2;

export function stuckCheck(spec: SignalSpec, state: DeviceState, silenceMs: number): See {
  const memory = new SlotMemory();
  const self: WatchedSignal = { label: spec.label, memory, resolution: Infinity };
  const group = state.quantityGroup(spec, self);
  const bounded = spec.unit === '%';
  // A resting pack's SOC holds by nature, whatever small drift other days' calibration showed.
  const chargeDriven = spec.subsystem === 'bms' && spec.field === 'soc';
  const aggregate = CELL_AGGREGATES.get(spec.signal);
  /** How far the cells moved what the signal aggregates over [from, to]; null when not an aggregate or its cells are not known. */
  const cellsMoved = (from: number, to: number): number | null =>
    aggregate ? state.cells[aggregate.quantity].movedOver(aggregate.of, from, to) : null;
  let lowest = Infinity;
  let highest = -Infinity;
  let runValue = NaN;
  let runStart = -1;
  let lastT = -1;
  let checkedAt = -Infinity;
  let expected: Expected | null = null;

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

  /**
   * How much the signal should have moved over [from, to] (the last day of it), judged by its
   * siblings: each sibling's range now, times the signal's range over the sibling's on the
   * previous days (those the sibling moved on; a ratio of sums), at most the most the signal moved
   * on any of them. A cell average frozen while the cell maximum and minimum climb 3 °C is stuck
   * even when its own usual movement is a few steps. Two siblings must agree (the second largest
   * estimate): one aggregate, a cell maximum, may climb while its twin holds.
   */
  const expectedFromSiblings = (from: number, to: number): number | null => {
    const start = Math.max(from, to - DAY_MS);
    const estimates: number[] = [];
    for (const s of group) {
      if (s === self || !Number.isFinite(s.resolution)) continue;
      const now = s.memory.range(start, to);
      if (now === null || now < 2 * s.resolution) continue;
      let mine = 0;
      let theirs = 0;
      let most = 0;
      let days = 0;
      for (let d = 1; d <= STUCK.referenceDays; d++) {
        const their = s.memory.range(start - d * DAY_MS, to - d * DAY_MS);
        const my = memory.range(start - d * DAY_MS, to - d * DAY_MS);
        if (their === null || my === null || their < 2 * s.resolution) continue;
        mine += my;
        theirs += their;
        if (my > most) most = my;
        days++;
      }
      if (days >= 3) estimates.push(Math.min(most, (mine / theirs) * now));
    }
    if (estimates.length < 2) return null;
    estimates.sort((a, b) => b - a);
    return estimates[1]!;
  };

  /**
   * How much the signal should have moved over [from, to], judged by a partner (`STUCK.partner`):
   * the coolant outlet steps with its return when the pack starts or stops, the outside air does
   * not. Over the previous days' windows the partner moved in, the signal moved a typical share of
   * the partner's move (the median ratio); now the partner moved by enough for that share to be
   * `steps` of the signal's own, in `nowWindows` windows. A sibling that moves on its own hours
   * (the outside air, a heating PCS) is no partner: the signal did not move with it.
   */
  const expectedFromPartner = (from: number, to: number): Expected | null => {
    const { steps, share, pastWindows, nowWindows } = STUCK.partner;
    // Hour-long windows every half hour: a dispatch that starts on the hour is inside one.
    // The partner's move must hold for two slots: one reading caught in a current spike moves nothing.
    const partnerRange = (s: WatchedSignal, at: number) => s.memory.steadyRange(at, at + HOUR_MS - 1);
    const ownRange = (at: number) => memory.range(at, at + HOUR_MS - 1);
    const first = Math.ceil(from / HALF_HOUR_MS) * HALF_HOUR_MS;
    const wanted = steps * self.resolution;
    for (const s of group) {
      if (s === self || !Number.isFinite(s.resolution)) continue;
      const moved: number[] = [];
      for (let at = first; at + HOUR_MS <= to; at += HALF_HOUR_MS) {
        const theirs = partnerRange(s, at);
        if (theirs !== null && theirs >= steps * s.resolution) moved.push(theirs);
      }
      if (moved.length < nowWindows) continue;
      const pairs: [number, number][] = [];
      for (let at = first - STUCK.referenceDays * DAY_MS; at + HOUR_MS <= first; at += HALF_HOUR_MS) {
        const theirs = partnerRange(s, at);
        const mine = theirs !== null && theirs >= steps * s.resolution ? ownRange(at) : null;
        if (mine !== null) pairs.push([theirs!, mine]);
      }
      if (pairs.length < pastWindows) continue;
      const ratio = medianInPlace(pairs.map(([theirs, mine]) => mine / theirs));
      // The past windows where the partner moved enough for the signal to move `steps`: it did in nearly all.
      const telling = pairs.filter(([theirs]) => theirs * ratio >= wanted);
      const followed = telling.filter(([, mine]) => mine >= wanted).length;
      const now = moved.filter((theirs) => theirs * ratio >= wanted).length;
      if (telling.length >= pastWindows && followed >= share * telling.length && now >= nowWindows)
        return { moved: Math.max(...moved) * ratio, by: { partner: s.label } };
    }
    return null;
  };

  /**
   * How much the signal should have moved over its hold up to `t`, judged by other days, its
   * siblings and a partner; null when not enough.
   */
  const expectedFromHistory = (v: number, t: number): Expected | null => {
    const resolution = self.resolution;
    // A bounded share (SOC, humidity) held at its own extreme is a clamp: a full pack, saturated air.
    // A temperature or voltage at its lowest so far is only a cool spell.
    const band = Math.max(2 * resolution, 0.02 * (highest - lowest));
    const clamped = bounded && (v >= highest - band || v <= lowest + band);
    const charged = !chargeDriven || state.activeSlots(runStart, t) >= STUCK.chargeSlots;
    if (clamped || !charged || !siblingMoved(runStart, t)) return null;
    const range = expectedRange(runStart, t);
    if (range !== null && range >= STUCK.ownSteps * resolution) {
      if (range >= STUCK.minSteps * resolution) return { moved: range, by: 'other days' };
      const bySiblings = expectedFromSiblings(runStart, t);
      if (bySiblings !== null && bySiblings >= STUCK.siblingSteps * resolution)
        return { moved: bySiblings, by: 'other days' };
    }
    // A cell aggregate is not judged by a partner: the coolest cell may hold while the hottest climbs.
    return aggregate ? null : expectedFromPartner(runStart, t);
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
    if (t - checkedAt >= STUCK.recheckMs && Number.isFinite(self.resolution)) {
      checkedAt = t;
      // A cell aggregate whose cells moved it by whole steps while it held: no need to ask other days.
      const byCells = cellsMoved(runStart, t);
      expected =
        byCells !== null && byCells >= STUCK.aggregateSteps[aggregate!.of] * self.resolution
          ? { moved: byCells, by: 'its cells' }
          : expectedFromHistory(v, t);
    }
    if (expected === null) return null;
    return stuckFinding(spec, v, held, expected, runStart);
  };
}

/** What says a held signal should have moved, and by how much. */
interface Expected {
  moved: number;
  by: 'its cells' | 'other days' | { partner: string };
}

function stuckFinding(spec: SignalSpec, v: number, heldMs: number, expected: Expected, since: number): Finding {
  const minutes = heldMs / 60_000;
  const held = `${spec.label} repeated ${v} ${spec.unit} for ${Math.round(minutes)} min`;
  const moved = `${round(expected.moved, 3)} ${spec.unit}`;
  return {
    severity: 'warning',
    observed: round(minutes),
    threshold: round(STUCK.minMs / 60_000),
    beyond: heldMs - STUCK.minMs,
    message:
      expected.by === 'its cells'
        ? `${held} while the cells it aggregates moved it ${moved}`
        : expected.by === 'other days'
          ? `${held}; over the same hours on other days it moved ${moved}`
          : `${held} while ${expected.by.partner} moved by as much as moved it ${moved} on other days`,
    since,
  };
}
