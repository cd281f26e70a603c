import { describe, expect, it } from 'vitest';
import { cabinetSignals, cellSignal, describeSignal } from '../catalog.js';

import { pushRecord, type PartialRecord } from '../test-support/records.js';
import { createStreamingDetector, type AlertUpdate } from './streaming.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 5, 1);

function noise(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
}

/** A healthy cabinet's BMS record at minute i: a daily charge/discharge cycle with sensor noise and 0.1 resolution. */
function bmsRecord(i: number, rnd: () => number, override: Partial<PartialRecord> = {}): PartialRecord {
  const phase = (2 * Math.PI * (i % 1440)) / 1440;
  const current = i % 1440 < 360 ? -150 : i % 1440 >= 1080 && i % 1440 < 1320 ? 150 : 0;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    timestamp: new Date(T0 + i * MIN).toISOString(),
    soc: r1(55 - 30 * Math.cos(phase) + rnd()),
    soh: 98.5,
    voltage: r1(830 + current / 20 + 2 * rnd()),
    current: r1(current + 3 * rnd()),
    cell_avg_voltage: Math.round((3.3 + current / 10_000 + 0.004 * rnd()) * 1000) / 1000,
    cell_avg_temp: r1(26 + 3 * Math.sin(phase) + 0.5 * rnd()),
    cell_max_voltage: 3.33,
    cell_min_voltage: Math.round((3.27 + 0.004 * rnd()) * 1000) / 1000,
    cell_voltage_diff: 0.02,
    cell_temp_diff: 3,
    cell_max_temp: r1(29 + 3 * Math.sin(phase) + 0.5 * rnd()),
    cell_min_temp: 23,
    ...override,
  };
}

function pcsRecord(i: number, rnd: () => number, imbalance = 1): PartialRecord {
  const flowing = i % 1440 >= 1080 && i % 1440 < 1320;
  const phase = flowing ? 150 : 2;
  return {
    timestamp: new Date(T0 + i * MIN).toISOString(),
    apparent_power: flowing ? 100 : 1,
    ac_current_a: phase * imbalance + rnd(),
    ac_current_b: phase + rnd(),
    ac_current_c: phase + rnd(),
  };
}

function run(
  minutes: number,
  override: (i: number) => Partial<Record<string, number>> | null = () => null,
  skip: (i: number) => boolean = () => false,
) {
  const detector = createStreamingDetector({ deviceId: 'DEV' });
  const rnd = noise(7);
  const updates: AlertUpdate[] = [];
  for (let i = 0; i < minutes; i++) {
    if (skip(i)) continue;
    updates.push(...pushRecord(detector, 'bms', bmsRecord(i, rnd, override(i) ?? {})));
  }
  updates.push(...detector.close());
  return updates;
}

describe('streaming detector', () => {
  it('stays quiet over three days of normal, noisy, daily-cycled operation', () => {
    expect(run(3 * 1440)).toEqual([]);
  });

  it('opens an over-temperature event, escalates it, and closes it once the cell has cooled', () => {
    const hot = (i: number) =>
      i >= 2000 && i < 2060 ? { cell_max_temp: i < 2030 ? 47 + (i - 2000) * 0.05 : 56 } : null;
    const updates = run(3000, hot).filter((u) => u.event.kind === 'cell_overtemp');
    expect(updates.map((u) => [u.status, u.event.severity])).toEqual([
      ['opened', 'warning'],
      ['escalated', 'critical'],
      ['closed', 'critical'],
    ]);
    const closed = updates[2]!.event;
    expect(closed).toMatchObject({ start: T0 + 2000 * MIN, end: T0 + 2059 * MIN, observed: 56, threshold: 55 });
    expect(updates.every((u) => u.event.id === closed.id)).toBe(true);
  });

  it('does not flap while a reading hovers around the limit', () => {
    const warn = describeSignal('bms1_cell_max_t').limits!.warnHigh!;
    // An hour of readings alternating just above and just below the warning limit.
    const hover = (i: number) => (i >= 2000 && i < 2060 ? { cell_max_temp: warn + (i % 2 ? 0.3 : -0.4) } : null);
    const updates = run(3000, hover).filter((u) => u.event.kind === 'cell_overtemp');
    expect(updates.map((u) => u.status)).toEqual(['opened', 'closed']);

    expect(updates[1]!.event).toMatchObject({ kind: 'cell_overtemp', start: T0 + 2001 * MIN, severity: 'warning' });
  });

  it('flags a current spike once, against the current’s own recent spread', () => {
    const updates = run(3000, (i) => (i === 1900 ? { current: 620 } : null)).filter(
      (u) => u.event.kind === 'current_spike',
    );
    expect(updates.map((u) => u.status)).toEqual(['opened', 'closed']);
    expect(updates[0]!.event).toMatchObject({ start: T0 + 1900 * MIN, observed: 620 });
  });

  it('reports a sensor stuck at one value from when it stuck', () => {
    const stuck = (i: number) => (i >= 1500 && i < 1800 ? { cell_avg_temp: 27.3 } : null);
    const updates = run(3000, stuck).filter((u) => u.event.kind === 'sensor_stuck');
    expect(updates.map((u) => u.status)).toEqual(['opened', 'closed']);
    expect(updates[0]!.event.signals).toEqual(['bms1_cell_ave_t']);
    expect(updates[1]!.event).toMatchObject({ start: T0 + 1500 * MIN, end: T0 + 1799 * MIN });
  });

  it('reports the device going silent when records resume', () => {
    const updates = run(
      3000,
      () => null,
      (i) => i > 1000 && i < 1100,
    ).filter((u) => u.event.kind === 'offline_gap');
    expect(updates.map((u) => u.status)).toEqual(['opened', 'closed']);
    expect(updates[1]!.event).toMatchObject({
      signals: ['*'],
      start: T0 + 1000 * MIN,
      end: T0 + 1100 * MIN,
      observed: 100,
    });
  });

  it('flags a phase carrying 40 % more current than the others, only while current flows', () => {
    const detector = createStreamingDetector({ deviceId: 'DEV' });
    const rnd = noise(3);
    const updates: AlertUpdate[] = [];
    // Current flows 18:00-22:00 each day. Two healthy days teach the PCS's rating; then phase A
    // runs 40 % high all day, which shows only while current flows.
    for (let i = 0; i < 4 * 1440; i++)
      updates.push(...pushRecord(detector, 'pcs', pcsRecord(i, rnd, i >= 2 * 1440 && i < 3 * 1440 ? 1.4 : 1)));
    updates.push(...detector.close());
    // 40 % high on one phase is 23.5 % from the three-phase mean: past twice the 10 % limit, so critical.
    expect(updates.map((u) => [u.status, u.event.kind, u.event.severity])).toEqual([
      ['opened', 'phase_imbalance', 'critical'],
      ['closed', 'phase_imbalance', 'critical'],
    ]);
    const day3 = T0 + 2 * 1440 * MIN;
    expect(updates[1]!.event.start).toBeGreaterThanOrEqual(day3 + 1080 * MIN);
    // A fresh window after the day's pause: 40 measurements before it is judged.
    expect(updates[1]!.event.start).toBeLessThan(day3 + 1140 * MIN);
    expect(updates[1]!.event.end).toBe(day3 + 1319 * MIN);
  });

  it('takes raw readings of signals outside the records (smoke, cells)', () => {
    const detector = createStreamingDetector({ deviceId: 'DEV' });
    const updates = [
      ...detector.pushReading('fa2_smokeFlag', T0, 0),
      ...detector.pushReading('bms1_p3_v17', T0, 3.28),
      ...detector.pushReading('fa2_smokeFlag', T0 + 10 * MIN, 1),
      ...detector.pushReading('bms1_p3_v17', T0 + 10 * MIN, 2.75),
      ...detector.pushReading('bms1_p3_v17', T0 + 15 * MIN, 2.74),
    ];
    expect(updates.map((u) => [u.event.kind, u.event.severity, u.event.signals[0]])).toEqual([
      ['smoke_detected', 'critical', 'fa2_smokeFlag'],
      ['weak_cell_voltage', 'critical', 'bms1_p3_v17'],
    ]);
    // The weak cell's event starts at its first low reading, once a second one confirms it.
    expect(updates[1]!.event.start).toBe(T0 + 10 * MIN);
    expect(detector.openEvents()).toHaveLength(2);
  });

  it('raises a critical alarm on every catalogue signal that has limits, on each side it has one', () => {
    const limited = cabinetSignals(false).filter((s) => s.limits);
    expect(limited.map((s) => s.signal)).toEqual(
      expect.arrayContaining(['bms1_cell_max_v', 'dh1_temp', 'fa1_level', 'fa5_voc', 'fa3_t2']),
    );
    for (const spec of limited) {
      const { alarmHigh, alarmLow } = spec.limits!;
      for (const [alarm, high] of [
        [alarmHigh, true],
        [alarmLow, false],
      ] as const) {
        if (alarm === undefined) continue;
        // Half an hour past the alarm level, a reading a minute: past every rule's minimum duration.
        const beyond = high ? alarm + Math.abs(alarm) * 0.1 + 1 : alarm - Math.abs(alarm) * 0.1 - 1;
        const detector = createStreamingDetector({ deviceId: 'DEV' });
        const updates = Array.from({ length: 30 }, (_, i) =>
          detector.pushReading(spec.signal, T0 + i * MIN, beyond),
        ).flat();
        const alarmed = updates.some((u) => u.event.severity === 'critical' && u.event.signals.includes(spec.signal));
        expect(alarmed, `${spec.signal} past its ${high ? 'high' : 'low'} alarm level`).toBe(true);
      }
    }
  });

  it('judges each cell on both sides of the cell limits: an overcharged or a frozen cell is named, unless the whole pack is', () => {
    const overcharged = cellSignal(3, 17, 'voltage');
    const frozen = cellSignal(1, 4, 'temperature');
    const detector = createStreamingDetector({ deviceId: 'DEV' });
    const minutes = (n: number, push: (t: number) => AlertUpdate[]) =>
      Array.from({ length: n }, (_, m) => push(T0 + m * MIN)).flat();
    const updates = minutes(4, (t) => [
      ...detector.pushReading(overcharged, t, 3.7),
      ...detector.pushReading(frozen, t, -12),
    ]);
    const raised = (list: AlertUpdate[]) =>
      [...new Set(list.map((u) => `${u.event.kind} ${u.event.severity} ${u.event.signals[0]}`))].sort();
    expect(raised(updates)).toEqual([`cell_overvoltage critical ${overcharged}`, `cell_undertemp critical ${frozen}`]);

    // A pack whose average cell is past the limit is one pack-wide event, not one per cell.
    const pack = createStreamingDetector({ deviceId: 'DEV' });
    const packUpdates = minutes(4, (t) => [
      ...pack.pushReading('bms1_cell_ave_v', t, 3.7),
      ...pack.pushReading(overcharged, t, 3.7),
    ]);
    expect(raised(packUpdates)).toEqual(['pack_overvoltage critical bms1_cell_ave_v']);
  });

  it('does not call a cell weak for one low reading under a current pulse (the IR drop every cell shows)', () => {
    const detector = createStreamingDetector({ deviceId: 'DEV' });
    const updates = [
      ...detector.pushReading('bms1_p3_v17', T0, 3.28),
      ...detector.pushReading('bms1_p3_v17', T0 + 5 * MIN, 2.83),
      ...detector.pushReading('bms1_p3_v17', T0 + 10 * MIN, 3.27),
      ...detector.close(),
    ];
    expect(updates).toEqual([]);
  });
});
