import { describe, expect, it } from 'vitest';
import { cellSignal, describeSignal } from '../../catalog.js';
import type { AlertUpdate } from '../condition.js';
import { createStreamingDetector } from '../streaming.js';

const MIN = 60_000;
const DAY = 1440;
const T0 = Date.UTC(2024, 5, 1);

function random(seed: number) {
  let s = seed;
  const uniform = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return {
    uniform,
    normal: (sd: number) => sd * Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(6.2832 * uniform()),
  };
}

/** Feeds readings (signal, minute, value) produced minute by minute; returns the closed events by kind. */
function run(minutes: number, each: (i: number, push: (signal: string, v: number) => void) => void) {
  const detector = createStreamingDetector({ deviceId: 'DEV' });
  const updates: AlertUpdate[] = [];
  for (let i = 0; i < minutes; i++)
    each(i, (signal, v) => updates.push(...detector.pushReading(signal, T0 + i * MIN, v)));
  updates.push(...detector.close());
  return updates.filter((u) => u.status === 'closed').map((u) => u.event);
}
const hourOf = (i: number) => (i % DAY) / 60;

describe('checks grounded in the cabinet’s own behaviour', () => {
  it('never calls an idle or lightly loaded PCS imbalanced, however noisy its phases', () => {
    const r = random(7919);
    // Three days: a few amperes of noise on each phase at idle, 120 A for three hours each evening.
    const events = run(3 * DAY, (i, push) => {
      const flowing = hourOf(i) >= 18 && hourOf(i) < 21 ? 120 : 0;
      for (const phase of ['pcs1_ia', 'pcs1_ib', 'pcs1_ic']) push(phase, Math.abs(flowing + r.normal(3)));
    });
    expect(events).toEqual([]);
  });

  it('finds a 21 % phase imbalance on a fast-regulating PCS within two hours of 3, and none before it', () => {
    // Frequency regulation: the current swings by tens of amperes a minute, and each phase is read
    // at its own moment, so single measurements disagree by 30 A; on day 5 phase A reads 21 % high for 3 h.
    const cabinet = (faulty: boolean) => {
      const r = random(6700417);
      let x = 0;
      return run(5 * DAY, (i, push) => {
        x = 0.8 * x + r.normal(20);
        const current = Math.abs(100 + x);
        const high = faulty && i >= 4 * DAY + 600 && i < 4 * DAY + 780;
        ['pcs1_ia', 'pcs1_ib', 'pcs1_ic'].forEach((phase, k) =>
          push(phase, Number((Math.max(0, current + r.normal(30)) * (high && k === 0 ? 1.21 : 1)).toFixed(1))),
        );
      }).filter((e) => e.kind === 'phase_imbalance');
    };
    expect(cabinet(false)).toEqual([]);
    const found = cabinet(true);
    expect(found).toHaveLength(1);
    expect(found[0]!.start - (T0 + (4 * DAY + 600) * MIN)).toBeLessThan(120 * MIN);
  });

  it('tells a current spike from a regulating cabinet’s normal moves, and finds one that leaves them', () => {
    const r = random(48271);
    let x = 0;
    // Frequency regulation: the current moves by tens of amperes a minute, all day, for four days; then a 300 A spike.
    const regulation = (i: number, push: (s: string, v: number) => void, spikeAt = -1) => {
      x = 0.9 * x + r.normal(15);
      push('bms1_c', Number((i >= spikeAt && i < spikeAt + 3 ? 300 + x : x).toFixed(1)));
    };
    expect(run(4 * DAY, (i, push) => regulation(i, push)).filter((e) => e.kind === 'current_spike')).toEqual([]);
    const found = run(4 * DAY, (i, push) => regulation(i, push, 3 * DAY + 600)).filter(
      (e) => e.kind === 'current_spike',
    );
    expect(found.map((e) => e.start)).toEqual([T0 + (3 * DAY + 600) * MIN]);
    // An arbitrage cabinet's schedule steps (0 -> 75 A for hours) are new operating points, not spikes.
    const steps = run(4 * DAY, (i, push) => push('bms1_c', hourOf(i) >= 17 && hourOf(i) < 21 ? 75 : 0));
    expect(steps).toEqual([]);
  });

  it('finds a spike that ends where a burst of dispatch ends, and calls no quarter-hour burst a spike', () => {
    const r = random(69621);
    // Peak shaving: idle within a few amperes for three days, then 60 A bursts of a quarter hour on
    // day 4 (larger than any move yet seen); on day 5 a -180 A spike in a burst's last three minutes.
    const cabinet = (spikeToo: boolean) =>
      run(5 * DAY, (i, push) => {
        const minute = i % DAY;
        const burstDay = i >= 3 * DAY;
        const inBurst = burstDay && [600, 900].some((at) => minute >= at && minute < at + 15);
        const spiking = spikeToo && i >= 4 * DAY && minute >= 912 && minute < 915;
        const current = spiking ? -120 - 20 * (minute - 912) : inBurst ? 60 : 0;
        push('bms1_c', Number((current + r.normal(1.5)).toFixed(1)));
      }).filter((e) => e.kind === 'current_spike');
    expect(cabinet(false)).toEqual([]);
    const found = cabinet(true);
    expect(found.map((e) => e.start)).toEqual([T0 + (4 * DAY + 912) * MIN]);
    expect(found[0]!.observed).toBeLessThan(-150);
  });

  it('calls a flat signal stuck only where it should move: a temperature frozen through the daily cycle', () => {
    const r = random(104729);
    const day = (i: number) => 25 + 4 * Math.sin((2 * Math.PI * (i % DAY)) / DAY);
    // A 1 °C sensor flat for hours through calm nights, and a cell voltage holding one mV at rest.
    const calm = run(6 * DAY, (i, push) => {
      push('bms1_cell_max_t', Math.round(hourOf(i) < 6 ? 22 : day(i) + r.normal(0.3)));
      push('bms1_c', hourOf(i) >= 17 && hourOf(i) < 21 ? 80 : 0);
      push('bms1_cell_ave_v', hourOf(i) >= 17 && hourOf(i) < 21 ? Number((3.25 + r.normal(0.002)).toFixed(3)) : 3.301);
    });
    expect(calm.filter((e) => e.kind === 'sensor_stuck')).toEqual([]);
    // The same temperature at 0.1 °C frozen for five hours of day 5.
    const frozenFrom = 4 * DAY + 8 * 60;
    const frozen = run(6 * DAY, (i, push) => {
      const frozenNow = i >= frozenFrom && i < frozenFrom + 300;
      push('bms1_cell_ave_t', frozenNow ? 27.3 : Number((day(i) + r.normal(0.2)).toFixed(1)));
    });
    expect(frozen.filter((e) => e.kind === 'sensor_stuck').map((e) => [e.signals[0], e.start])).toEqual([
      ['bms1_cell_ave_t', T0 + frozenFrom * MIN],
    ]);
  });

  it('calls a temperature frozen at its daily low stuck: the low end of a temperature is not a clamp', () => {
    const r = random(15485863);
    const day = (i: number) => 25 + 4 * Math.sin((2 * Math.PI * (i % DAY)) / DAY);
    // Frozen at 21.0 °C (the cycle's low, at 18:00) for five hours of day 5 while it should climb back to 25.
    const frozenFrom = 4 * DAY + 18 * 60;
    const frozen = run(6 * DAY, (i, push) => {
      const frozenNow = i >= frozenFrom && i < frozenFrom + 300;
      push('bms1_cell_ave_t', frozenNow ? 21 : Number((day(i) + r.normal(0.05)).toFixed(1)));
    });
    expect(frozen.filter((e) => e.kind === 'sensor_stuck').map((e) => [e.signals[0], e.start])).toEqual([
      ['bms1_cell_ave_t', T0 + frozenFrom * MIN],
    ]);
  });

  it('calls a slow 1 °C sensor stuck when two siblings that move with it climb while it holds', () => {
    const r = random(32452843);
    // Cell temperatures at 1 °C that rise 2-3 steps through each morning; on day 6 a warm spell adds 4 °C.
    const day = (i: number) =>
      24 + 2 * Math.sin((2 * Math.PI * (hourOf(i) - 9)) / 24) + (i >= 5 * DAY ? ((i % DAY) / DAY) * 8 : 0);
    const frozenFrom = 5 * DAY + 7 * 60;
    const frozenNow = (i: number) => i >= frozenFrom && i < frozenFrom + 300;
    const cabinet = (holding: string[]) =>
      run(6 * DAY, (i, push) => {
        const base = day(i) + r.normal(0.2);
        const readings = { bms1_cell_ave_t: base, bms1_cell_max_t: base + 3, bms1_cell_min_t: base - 3 };
        for (const [signal, v] of Object.entries(readings))
          push(signal, frozenNow(i) && holding.includes(signal) ? 24 : Math.round(v));
      }).filter((e) => e.kind === 'sensor_stuck');
    // The average holds while the maximum and the minimum climb: stuck, from when it stuck.
    expect(cabinet(['bms1_cell_ave_t']).map((e) => [e.signals[0], e.start])).toEqual([
      ['bms1_cell_ave_t', T0 + frozenFrom * MIN],
    ]);
    // The average and the minimum hold together: one sibling climbing is not enough to call either.
    expect(cabinet(['bms1_cell_ave_t', 'bms1_cell_min_t'])).toEqual([]);
  });

  it('calls a coolant outlet stuck when its return steps without it, as the two stepped together before', () => {
    const r = random(15485863);
    // A 1 °C coolant loop: both temperatures step up while the pack dispatches, at hours that differ
    // from day to day; the outside air hardly moves. Day 6 dispatches in full, lightly or not at all.
    const FIRST = [8, 11, 14, 8, 11, 9.5];
    const SECOND = [17, 18, 19, 17, 18, 20.5];
    const dispatching = (i: number) => {
      const day = Math.floor(i / DAY);
      const hour = hourOf(i);
      return (hour >= FIRST[day]! && hour < FIRST[day]! + 2) || (hour >= SECOND[day]! && hour < SECOND[day]! + 1.5);
    };
    const day6 = 5 * DAY;
    const cabinet = (day6Load: number, frozen: boolean) =>
      run(6 * DAY, (i, push) => {
        const load = dispatching(i) ? (i < day6 ? 1 : day6Load) : 0;
        // Idle, the outlet sits on a rounding edge and flickers between 18 and 19 °C.
        push('ac1_outwater_t', frozen && i >= day6 + 6 * 60 ? 18 : Math.round(18.5 + 2 * load + r.normal(0.12)));
        push('ac1_rtnwater_t', Math.round(19.6 + 4.2 * load + r.normal(0.1)));
        push('ac1_outside_t', Math.round(15 + 0.3 * Math.sin((2 * Math.PI * (hourOf(i) - 9)) / 24) + r.normal(0.1)));
      }).filter((e) => e.kind === 'sensor_stuck');
    // The outlet holds 18 °C through two dispatches its return stepped up 4 °C for: stuck.
    const stuck = cabinet(1, true);
    expect(stuck.map((e) => e.signals[0])).toEqual(['ac1_outwater_t']);
    expect(stuck[0]!.message).toContain('while Coolant return temperature moved');
    // The outlet holds as well through a light dispatch that steps the return 2 °C, which on other
    // days moved it less than its 2 steps, and through a rest day: nothing says it should have moved.
    expect(cabinet(0.45, true)).toEqual([]);
    expect(cabinet(0, true)).toEqual([]);
  });

  it('calls a cell aggregate stuck when its own cells move it by whole steps, on its first day', () => {
    const r = random(15485863);
    const CELLS = 20;
    const HOLD = 6 * 60;
    // One day, no other days to compare: 20 cells at 1 °C, each read every 10 minutes in turn,
    // warming 2 °C in the small hours, then by `rise` °C over four hours from 06:00; the pack's
    // average and maximum are read every 2 minutes, and those in `frozen` hold from 06:00 for 5 h.
    const cabinet = (rise: number, frozen: string[], noise = 0.15) => {
      const held = new Map<string, number>();
      return run(DAY, (i, push) => {
        const warm = 18 + 2 * Math.min(1, i / 240) + rise * Math.min(1, Math.max(0, (i - HOLD) / 240));
        const cells = Array.from({ length: CELLS }, (_, c) => warm + (c === 0 ? 3.3 : (c % 5) * 0.3));
        const c = i % 10;
        for (const k of [c, c + 10]) push(cellSignal(1, k + 1, 'temperature'), Math.round(cells[k]! + r.normal(noise)));
        if (i % 2) return;
        const mean = cells.reduce((a, b) => a + b, 0) / CELLS;
        for (const [signal, v] of Object.entries({ bms1_cell_ave_t: mean, bms1_cell_max_t: Math.max(...cells) })) {
          if (i === HOLD) held.set(signal, Math.round(v));
          const holding = frozen.includes(signal) && i >= HOLD && i < HOLD + 300;
          push(signal, holding ? held.get(signal)! : Math.round(v));
        }
      })
        .filter((e) => e.kind === 'sensor_stuck')
        .map((e) => [
          e.signals[0],
          e.start <= T0 + HOLD * MIN && e.end >= T0 + (HOLD + 240) * MIN,
          /while the cells it aggregates moved it/.test(e.message),
        ]);
    };
    // The average frozen while its cells warm 2 °C: stuck, over the freeze (from its last change), and the evidence says so.
    expect(cabinet(2, ['bms1_cell_ave_t'])).toEqual([['bms1_cell_ave_t', true, true]]);
    // The maximum frozen while the hottest cell warms 4 °C: stuck too.
    expect(cabinet(4, ['bms1_cell_max_t'])).toEqual([['bms1_cell_max_t', true, true]]);
    // Cells flat but for their noise (the hottest reads 22 to 25 reading by reading): real holds, however long.
    expect(cabinet(0, [], 0.45)).toEqual([]);
    // The average frozen while its cells warm under a step (0.8 °C): not enough to tell.
    expect(cabinet(0.8, ['bms1_cell_ave_t'])).toEqual([]);
  });

  it('calls a state of charge stuck only while charge flows, not while the pack rests', () => {
    // Each evening a 3-hour discharge (80 A, 60 % -> 15 %; 3 % on day 2); at rest the SOC's
    // calibration drifts 0.6 % through the night. On day 6 it holds from midnight for 4 h at rest,
    // or from 17:30 through the discharge.
    const soc = (i: number) => {
      const h = hourOf(i);
      const floor = Math.floor(i / DAY) === 1 ? 3 : 15;
      if (h >= 17 && h < 20) return 60 - ((60 - floor) * (h - 17)) / 3;
      if (h >= 20) return floor;
      return h < 6 ? 15 - (0.6 * h) / 6 : 60;
    };
    const cabinet = (frozenFrom: number) =>
      run(6 * DAY, (i, push) => {
        push('bms1_c', hourOf(i) >= 17 && hourOf(i) < 20 ? -80 : 0);
        const frozen = i >= frozenFrom && i < frozenFrom + 240;
        push('bms1_soc', Number(soc(frozen ? frozenFrom : i).toFixed(1)));
      }).filter((e) => e.kind === 'sensor_stuck');
    expect(cabinet(5 * DAY)).toEqual([]);
    const dispatching = 5 * DAY + 17 * 60 + 30;
    expect(cabinet(dispatching).map((e) => [e.signals[0], e.start])).toEqual([['bms1_soc', T0 + dispatching * MIN]]);
  });

  it('does not call cells weak that read low for two readings while the current swings', () => {
    const r = random(49979687);
    const offsets = Array.from({ length: 52 }, () => r.normal(0.004));
    // Cells every 10 minutes, the pack average every minute. Twice on day 2, three cells of
    // different packs read 80 mV under their pack for two readings (the average read a minute
    // before a swing); cell 5 of pack 1 sags 80 mV for four readings.
    const swings = [DAY + 300, DAY + 700];
    const weak = cellSignal(1, 5, 'voltage');
    const events = run(2 * DAY, (i, push) => {
      push('bms1_cell_ave_v', 3.3);
      if (i % 10 !== 0) return;
      for (const pack of [1, 2, 3])
        for (let c = 1; c <= 52; c++) {
          const swung = swings.some((s) => i >= s && i < s + 20) && c === 10 + pack;
          const sagging = cellSignal(pack, c, 'voltage') === weak && i >= DAY + 1000 && i < DAY + 1040;
          const v = 3.3 + offsets[c - 1]! - (swung || sagging ? 0.08 : 0) + r.normal(0.001);
          push(cellSignal(pack, c, 'voltage'), Number(v.toFixed(3)));
        }
    });
    expect(events.filter((e) => e.kind === 'weak_cell_voltage').map((e) => e.signals[0])).toEqual([weak]);
  });

  it('does not call a 1 °C cell hot on rounding alone: 3.6 °C over its pack reads 4', () => {
    const r = random(49979687);
    const hot = cellSignal(1, 5, 'temperature');
    // Two days of 52 cells at 1 °C every 10 minutes (their rounding flickers a step); cell 5 warms by `heat` on day 2.
    const cabinet = (heat: number) =>
      run(2 * DAY, (i, push) => {
        push('bms1_cell_ave_t', 26);
        if (i % 10 !== 0) return;
        for (let c = 1; c <= 52; c++) {
          const signal = cellSignal(1, c, 'temperature');
          const warm = signal === hot && i >= DAY + 300 && i < DAY + 480 ? heat : 0;
          push(signal, Math.round(26.3 + warm + r.normal(0.1)));
        }
      }).filter((e) => e.kind === 'cell_overtemp');
    expect(cabinet(3.6)).toEqual([]);
    expect(cabinet(6).map((e) => e.signals[0])).toEqual([hot]);
  });

  it('calls a whole pack heated to the cell limit pack over-temperature, and a lone cell there a hot cell', () => {
    const limit = describeSignal('bms1_cell_max_t').limits!.warnHigh!;
    // A heavy current heats the pack 15 °C in ten minutes of day 2: the average cell reaches the
    // limit less 3 °C, the hottest cells the limit (1 °C sensors). Or one cell alone reaches it.
    const cabinet = (wholePack: boolean) =>
      run(2 * DAY, (i, push) => {
        const heat = i >= DAY + 600 && i < DAY + 640 ? Math.min(15, 1.5 * (i - DAY - 600)) : 0;
        const average = 27 + (wholePack ? heat : 0);
        push('bms1_cell_ave_t', Math.round(average));
        push('bms1_cell_max_t', Math.round(wholePack ? average + 3 : 29 + heat + 1));
        if (i % 10 !== 0) return;
        for (let c = 1; c <= 52; c++) {
          const own = wholePack
            ? average + (c % 13 === 0 ? 3 : (c % 5) * 0.4)
            : 27 + (c % 5) * 0.4 + (c === 9 ? heat + 3 : 0);
          push(cellSignal(3, c, 'temperature'), Math.round(own));
        }
      }).filter((e) => e.kind === 'cell_overtemp' || e.kind === 'pack_overtemp');
    const pack = cabinet(true);
    expect(pack.map((e) => [e.kind, e.signals[0]])).toEqual([['pack_overtemp', 'bms1_cell_max_t']]);
    expect(pack[0]!.observed).toBeGreaterThanOrEqual(limit);
    const lone = cabinet(false);
    expect(lone.map((e) => e.kind)).not.toContain('pack_overtemp');
    expect(lone.map((e) => e.signals[0])).toEqual(expect.arrayContaining([cellSignal(3, 9, 'temperature')]));
  });

  it('names a cell out of line with its pack inside the absolute limits, with severity by how far', () => {
    const r = random(15485863);
    const offsets = Array.from({ length: 52 }, () => r.normal(0.004));
    const weak = cellSignal(2, 17, 'voltage');
    const hot = cellSignal(4, 8, 'temperature');
    // Two days of cells every 10 minutes, the pack average every minute; cell 17 of pack 2 sags
    // 80 mV (then 170 mV) below its neighbours on day 2, cell 8 of pack 4 runs 6 °C hot.
    const events = run(2 * DAY, (i, push) => {
      const load = hourOf(i) >= 17 && hourOf(i) < 21 ? -0.04 : 0;
      const average = 3.3 + load;
      push('bms1_cell_ave_v', Number(average.toFixed(3)));
      push('bms1_cell_ave_t', 26);
      if (i % 10 !== 0) return;
      for (let c = 1; c <= 52; c++) {
        const sag = `bms1_p2_v${c}` === weak && i >= DAY + 600 ? (i >= DAY + 780 ? 0.17 : 0.08) : 0;
        push(cellSignal(2, c, 'voltage'), Number((average + offsets[c - 1]! - sag + r.normal(0.001)).toFixed(3)));
        const heat = cellSignal(4, c, 'temperature') === hot && i >= DAY + 300 && i < DAY + 480 ? 6 : 0;
        push(cellSignal(4, c, 'temperature'), Number((26 + offsets[c - 1]! * 100 + heat + r.normal(0.1)).toFixed(1)));
      }
    });
    const cells = events.filter((e) => e.signals[0]!.startsWith('bms1_p'));
    expect(cells.map((e) => [e.kind, e.signals[0], e.severity])).toEqual([
      ['cell_overtemp', hot, 'warning'],
      ['weak_cell_voltage', weak, 'critical'],
    ]);
    expect(cells[1]!.start).toBeGreaterThanOrEqual(T0 + (DAY + 600) * MIN);
    expect(cells[1]!.message).toMatch(/mV below its pack/);
  });
});
