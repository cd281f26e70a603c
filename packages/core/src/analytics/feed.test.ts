import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDataset } from '../dataset.js';
import { generateDataset } from '../generate/index.js';
import { scratchRoot } from '../test-support/tmp.js';
import type { BessDataset } from '../types.js';
import { readLabels, replayAlerts, scoreDetection } from '../evaluate/index.js';
import { DeviceAlertFeed, ReadingScan } from './feed.js';
import { detectAnomalies } from './detect.js';
import { watchesSignal } from './streaming.js';

/** Kinds only the batch scan's slow trend checks report. */
const TREND_KINDS = new Set(['thermal_drift', 'cell_drift']);

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2024, 2, 1);
const DEVICE = 'ZHPESS232A230002';

describe('the alert feed: records and raw readings in time order', () => {
  const scratch = scratchRoot();
  let dataset: BessDataset;
  beforeAll(async () => {
    // Enclosure humidity (logged every 10 min, in no aligned record) frozen for 6 h on day 3.
    const faults = {
      [DEVICE]: [
        {
          kind: 'sensor_stuck' as const,
          start: START + 2 * DAY + 6 * HOUR,
          end: START + 2 * DAY + 12 * HOUR,
          signal: 'dh1_humi',
        },
      ],
    };
    await generateDataset({ root: scratch.root, devices: [DEVICE], days: 3, seed: 31, faults, workers: 0 });
    dataset = await openDataset(scratch.root, { workers: 0 });
  });
  afterAll(async () => {
    await dataset.close();
    scratch.remove();
  });

  it('finds a stuck sensor on a signal outside the records, as the batch scan does', async () => {
    const replay = await replayAlerts(dataset, DEVICE);
    expect(replay.readings).toBeGreaterThan(0);
    const stuck = replay.events.filter((e) => e.kind === 'sensor_stuck');
    expect(stuck.map((e) => e.signals)).toEqual([['dh1_humi']]);
    expect(scoreDetection(replay.events, readLabels(scratch.root), ['sensor_stuck'])[0]).toMatchObject({
      precision: 1,
      recall: 1,
    });
  });

  it('gives the batch scan’s events exactly: both feed the one detector the same readings', async () => {
    const live = await replayAlerts(dataset, DEVICE);
    expect(live.events.length).toBeGreaterThan(0);
    const batch = (await detectAnomalies(dataset, DEVICE)).filter((e) => !TREND_KINDS.has(e.kind));
    expect(batch).toEqual(live.events);
  });

  it('reads each signal forward only, feeds every reading however far a tick jumps, and starts over when the stream goes back', async () => {
    const page = async (skip: number, limit: number) => (await dataset.page(DEVICE, 'bms', { skip, limit })).records;
    const reads = new Map<string, [number, number][]>();
    const readSignal = dataset.readSignal.bind(dataset);
    const spy = vi.spyOn(dataset, 'readSignal').mockImplementation((id, signal, from, to, maxRows) => {
      reads.set(signal, [...(reads.get(signal) ?? []), [from, to]]);
      return readSignal(id, signal, from, to, maxRows);
    });
    try {
      const feed = new DeviceAlertFeed(dataset, DEVICE, { warmUpMs: 0 });
      expect(feed.driver).toBe('bms');
      const records = await page(0, 120);
      for (const r of records) await feed.push(r);
      for (const [signal, spans] of reads)
        spans.forEach(([from], i) => expect(i === 0 || from > spans[i - 1]![1], signal).toBe(true));
      // A day ahead in one tick: every watched reading of that day is fed, none skipped.
      const before = feed.stats.readings;
      const ahead = (await page(1440 + 120, 1))[0]!;
      await feed.push(ahead);
      const from = Date.parse(records.at(-1)!.timestamp) + 1;
      const to = Date.parse(ahead.timestamp);
      let expected = 0;
      for (const s of dataset.device(DEVICE).signals)
        if (watchesSignal(s.signal)) expected += (await readSignal(DEVICE, s.signal, from, to, 1e6)).t.length;
      expect(feed.stats.readings - before).toBe(expected);
      // Back to the start (a replay cycling): a fresh detector, fed only the first record's instant.
      const jumped = feed.stats.readings;
      await feed.push(records[0]!);
      expect(feed.stats.readings - jumped).toBeLessThan(20);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('ReadingScan merging signals by time', () => {
  /** A device of three watched signals with the given readings, and a detector that records what it is fed. */
  function scanOf(readings: Record<string, number[]>) {
    const signals = Object.keys(readings).map((signal) => ({
      signal,
      last: Math.max(...readings[signal]!),
      medianPeriodMs: 1000,
    }));
    const info = { id: DEVICE, first: 0, last: 10_000, signals };
    const dataset = {
      device: () => info,
      readSignal: async (_d: string, signal: string, from: number, to: number) => {
        const t = readings[signal]!.filter((x) => x >= from && x <= to);
        return { t: Float64Array.from(t), v: Float64Array.from(t, (x) => x * 10) };
      },
    } as unknown as BessDataset;
    const fed: string[] = [];
    const detector = {
      inputOf: (signal: string) => (t: number, v: number) => fed.push(`${signal}@${t}=${v}`),
      pushReading: () => [],
      close: () => [],
      openEvents: () => [],
    };
    return { scan: new ReadingScan(dataset, DEVICE, detector, -1), fed };
  }

  it('feeds the oldest reading first, ties in the device’s signal order, whole or fractional milliseconds', async () => {
    for (const step of [1, 0.25]) {
      const readings = {
        bms1_soc: [0, 2, 2 + step, 5].map((x) => x * step * 4),
        pcs1_ap: [1, 2, 4].map((x) => x * step * 4),
        bms1_c: [2, 3].map((x) => x * step * 4),
      };
      const { scan, fed } = scanOf(readings);
      await scan.advanceTo(10_000);
      const expected = Object.entries(readings)
        .flatMap(([signal, ts], order) => ts.map((t) => ({ signal, t, order })))
        .sort((a, b) => a.t - b.t || a.order - b.order)
        .map(({ signal, t }) => `${signal}@${t}=${t * 10}`);
      expect(fed).toEqual(expected);
      expect(scan.readings).toBe(9);
    }
  });
});
