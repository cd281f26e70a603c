import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellSignal } from '../catalog.js';
import { openDataset } from '../dataset.js';
import { FAULT_KINDS, generateDataset } from '../generate/index.js';
import { csv, scratchRoot, stamp } from '../test-support/tmp.js';
import type { BessDataset } from '../types.js';
import { detectAnomalies } from './detect.js';
import { driftDetections, ewmaDetections } from './detectors.js';
import { backtest, randomFaultPlan, readLabels, replayAlerts, scoreDetection } from '../evaluate/index.js';
import { mergeDetections } from './events.js';
import { resample, SLOTS_PER_DAY } from './forecast.js';
import { fitRul } from './rul.js';
import { pushRecord, type PartialRecord } from '../test-support/records.js';
import { createStreamingDetector } from './streaming.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 2, 1);

describe('trend checks on constructed series', () => {
  it('EWMA control limits flag a slow shift off the daily cycle, not the cycle itself', () => {
    const slot = 15 * MIN;
    const days = 14;
    const values = new Float64Array(days * 96);
    let seed = 5;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.4;
    for (let k = 0; k < values.length; k++) values[k] = 25 + 4 * Math.sin((2 * Math.PI * k) / 96) + rnd();
    const opts = { signal: 'bms1_cell_ave_t', label: 'T', unit: '°C', lambda: 0.1, L: 6, floor: 3, profileDays: 7 };
    expect(ewmaDetections(T0, slot, values, opts)).toEqual([]);
    // from day 11 the cooling loses capacity: +0.1 °C per slot up to +8 °C
    for (let k = 11 * 96; k < values.length; k++) values[k] = values[k]! + Math.min(8, (k - 11 * 96) * 0.1);
    const found = ewmaDetections(T0, slot, values, opts);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.start).toBeGreaterThanOrEqual(T0 + 11 * 96 * slot);
    expect(found[0]!.start).toBeLessThan(T0 + 12 * 96 * slot);
    expect(found[0]!.message).toMatch(/above its usual daily cycle/);
  });

  it('finds a cell drifting away from its pack over days, not cells with steady offsets', () => {
    const days = Array.from({ length: 14 }, (_, d) => T0 + d * 86_400_000);
    const cells = Array.from({ length: 52 }, (_, i) => ({
      signal: `bms1_p1_v${i + 1}`,
      label: `cell ${i + 1}`,
      // steady offsets of a few mV, daily noise, and cell 30 losing 2 mV a day from day 4
      values: days.map(
        (_, d) =>
          3.3 +
          ((i * 7) % 11) / 1000 +
          (((i * 31 + d * 17) % 7) - 3) / 10_000 -
          (i === 29 ? Math.max(0, d - 4) * 0.002 : 0),
      ),
    }));
    const opts = { windowDays: 10, minSlopePerDay: 0.001, minChange: 0.01, unit: 'V', scale: 1000, scaledUnit: 'mV' };
    const found = driftDetections(days, cells, opts);
    expect(found.map((d) => d.signals[0])).toEqual(['bms1_p1_v30']);
    expect(found[0]!.observed).toBeCloseTo(-2, 1);
    expect(
      driftDetections(
        days,
        cells.map((c, i) => (i === 29 ? { ...c, values: cells[0]!.values } : c)),
        opts,
      ),
    ).toEqual([]);
  });

  it('merges consecutive detections of one condition into one event with a stable id', () => {
    const d = (start: number, severity: 'warning' | 'critical', observed: number) => ({
      kind: 'cell_overtemp' as const,
      severity,
      signals: ['x'],
      start,
      end: start + MIN,
      observed,
      threshold: 45,
      message: '',
    });
    const merged = mergeDetections('DEV', [
      d(T0, 'warning', 46),
      d(T0 + 5 * MIN, 'critical', 57),
      d(T0 + 60 * MIN, 'warning', 46),
    ]);
    expect(merged).toHaveLength(2);
    expect(merged[0]).toMatchObject({ severity: 'critical', observed: 57, start: T0, end: T0 + 6 * MIN });
    expect(mergeDetections('DEV', [d(T0, 'warning', 46)])[0]!.id).toBe(merged[0]!.id);
  });

  it('the streaming detector reports a condition once when it starts, and again when it turns critical', () => {
    const detector = createStreamingDetector({ deviceId: 'DEV' });
    // What the alerts subscription sends: opened and escalated events.
    const alerts = {
      push: (r: PartialRecord) =>
        pushRecord(detector, 'bms', r).flatMap((u) => (u.status === 'closed' ? [] : [u.event])),
    };
    const rec = (min: number, cellMax: number) => ({
      timestamp: new Date(T0 + min * MIN).toISOString(),
      cell_max_temp: cellMax,
      soc: 50,
    });
    expect(alerts.push(rec(0, 30))).toEqual([]);
    expect(alerts.push(rec(1, 47)).map((e) => e.severity)).toEqual(['warning']);
    expect(alerts.push(rec(2, 48))).toEqual([]);
    // 30 -> 56 °C in three minutes is also a fast rise, reported as its own event.
    expect(alerts.push(rec(3, 56)).map((e) => [e.kind, e.severity])).toEqual([
      ['cell_overtemp', 'critical'],
      ['fast_temp_rise', 'critical'],
    ]);
    expect(alerts.push(rec(4, 30))).toEqual([]);
  });
});

describe('forecasting', () => {
  it('beats "same time yesterday" on a daily pattern with a wandering level, with honest 80 % intervals', () => {
    let seed = 3;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 2;
    const days = 28;
    const values = new Float64Array(days * SLOTS_PER_DAY);
    // a daily cycle, a level that drifts for hours (weather, demand), and sensor noise
    let level = 0;
    for (let k = 0; k < values.length; k++) {
      level = 0.97 * level + 1.5 * rnd();
      values[k] = 50 + 30 * Math.sin((2 * Math.PI * k) / SLOTS_PER_DAY) + level + rnd();
    }
    const result = backtest(values, SLOTS_PER_DAY, 14 * SLOTS_PER_DAY);
    expect(result.improvement).toBeGreaterThan(0.2);
    expect(result.coverage80).toBeGreaterThan(0.7);
    expect(result.coverage80).toBeLessThan(0.92);
  });

  it('resamples readings into 15-minute means', () => {
    const { values } = resample([T0, T0 + MIN, T0 + 20 * MIN], [1, 3, 10], T0, T0 + 29 * MIN);
    expect([...values]).toEqual([2, 10]);
  });
});

describe('remaining useful life', () => {
  it('recovers the end-of-life date of a linear fade within its interval', () => {
    // 2.5 %/year from 98 %: reaches 80 % after 7.2 years.
    const days = Array.from({ length: 400 }, (_, i) => ({
      t: T0 + i * 86_400_000,
      v: 98 - (2.5 * i) / 365.25 + (i % 7 === 0 ? 0.3 : 0),
    }));
    const rul = fitRul('DEV', days, 400);
    expect(rul.status).toBe('ok');
    expect(rul.fadePerYear!).toBeCloseTo(-2.5, 1);
    const expected = T0 + (18 / 2.5) * 365.25 * 86_400_000;
    expect(rul.endOfLifeInterval![0]).toBeLessThanOrEqual(expected);
    expect(rul.endOfLifeInterval![1]).toBeGreaterThanOrEqual(expected);
    expect(Math.abs(rul.endOfLife! - expected)).toBeLessThan(120 * 86_400_000);
  });

  it('says so when SOH does not fade measurably', () => {
    const flat = Array.from({ length: 100 }, (_, i) => ({ t: T0 + i * 86_400_000, v: 97 }));
    expect(fitRul('DEV', flat, 100).status).toBe('insufficient_history');
  });
});

describe('detection on generated data with labelled faults', () => {
  const scratch = scratchRoot();
  let dataset: BessDataset;
  beforeAll(async () => {
    await generateDataset({
      root: scratch.root,
      devices: 1,
      days: 7,
      seed: 99,
      cells: true,
      cellPeriodS: 600,
      faults: 'default',
      workers: 0,
    });
    dataset = await openDataset(scratch.root, { workers: 0 });
  });
  afterAll(async () => {
    await dataset.close();
    scratch.remove();
  });

  it('finds every injected fault kind', async () => {
    const id = dataset.devices()[0]!.id;
    const events = await detectAnomalies(dataset, id);
    const labels = readLabels(scratch.root);
    expect(labels).toHaveLength(FAULT_KINDS.length);
    const scores = scoreDetection(events, labels, FAULT_KINDS);
    for (const s of scores) expect(s.recall, s.kind).toBe(1);
    for (const s of scores) expect(s.precision, s.kind).toBe(1);
    const hot = events.find((e) => e.kind === 'cell_overtemp')!;
    expect(hot.message).toMatch(/reached \d+(\.\d+)? °C/);
  });

  it('finds them live too: the streaming detector replayed over the records', async () => {
    const id = dataset.devices()[0]!.id;
    const replay = await replayAlerts(dataset, id);
    expect(replay.records).toBeGreaterThan(0);
    const scores = scoreDetection(
      replay.events,
      readLabels(scratch.root),
      FAULT_KINDS,
      dataset.defaultStepMs(id, 'bms'),
    );
    for (const s of scores) expect(s.recall, s.kind).toBe(1);
    for (const s of scores) expect(s.precision, s.kind).toBe(1);
  });
});

describe('detection on hand-written cell files', () => {
  it('names an overcharged cell and a frozen one from their own files, each against its side of the cell limits', async () => {
    const scratch = scratchRoot();
    const minutes = (n: number, value: (i: number) => number): [string, number][] =>
      Array.from({ length: n }, (_, i) => [stamp(T0 + i * MIN), value(i)]);
    const overcharged = cellSignal(2, 9, 'voltage');
    const frozen = cellSignal(4, 30, 'temperature');
    // 30 minutes; the overcharge lasts from minute 10 to 19, the frost from minute 5 to 7.
    scratch.write(
      'CAB1',
      overcharged,
      csv(
        overcharged,
        minutes(30, (i) => (i >= 10 && i < 20 ? 3.7 : 3.3)),
      ),
    );
    scratch.write(
      'CAB1',
      frozen,
      csv(
        frozen,
        minutes(30, (i) => (i >= 5 && i < 8 ? -12 : 18)),
      ),
    );
    scratch.write(
      'CAB1',
      cellSignal(2, 10, 'voltage'),
      csv(
        cellSignal(2, 10, 'voltage'),
        minutes(30, () => 3.3),
      ),
    );
    const dataset = await openDataset(scratch.root, { workers: 0 });
    try {
      const events = await detectAnomalies(dataset, 'CAB1');
      const found = events.map((e) => [
        e.kind,
        e.severity,
        e.signals.join(),
        new Date(e.start).toISOString().slice(11, 16),
      ]);
      expect(found).toEqual(
        expect.arrayContaining([
          ['cell_overvoltage', 'critical', overcharged, '00:10'],
          ['cell_undertemp', 'critical', frozen, '00:05'],
        ]),
      );
      expect(events.filter((e) => e.signals.includes(cellSignal(2, 10, 'voltage')))).toEqual([]);
    } finally {
      await dataset.close();
      scratch.remove();
    }
  });
});

describe('randomised fault plans', () => {
  const start = Date.UTC(2024, 5, 1);
  it('places perKind faults of each kind per device on distinct days after the warm-up, the same for the same seed', () => {
    const plan = randomFaultPlan(['A', 'B'], start, 40, 5, 4);
    expect(randomFaultPlan(['A', 'B'], start, 40, 5, 4)).toEqual(plan);
    expect(randomFaultPlan(['A', 'B'], start, 40, 6, 4)).not.toEqual(plan);
    for (const faults of Object.values(plan)) {
      for (const kind of FAULT_KINDS) expect(faults.filter((f) => f.kind === kind)).toHaveLength(4);
      const days = faults.map((f) => Math.floor((f.start - start) / 86_400_000));
      expect(new Set(days).size).toBe(faults.length);
      for (const f of faults) {
        expect(f.start).toBeGreaterThanOrEqual(start + 8 * 86_400_000);
        expect(f.end).toBeGreaterThan(f.start);
        expect(f.end).toBeLessThanOrEqual(start + 40 * 86_400_000);
      }
    }
    expect(() => randomFaultPlan(['A'], start, 20, 5, 3)).toThrow(/cannot hold/);
  });
});
