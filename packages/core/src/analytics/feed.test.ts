import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../dataset.js';
import { generateDataset } from '../generate/index.js';
import { scratchRoot } from '../test-support/tmp.js';
import type { AlignedRecord, BessDataset } from '../types.js';
import { readLabels, replayAlerts, scoreDetection } from '../evaluate/index.js';
import { DeviceAlertFeed } from './feed.js';
import type { AlertUpdate } from './streaming.js';

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

  it('reads forward only, keeps the detector’s clock monotonic, caps a tick, and starts over when the stream goes back', async () => {
    const page = async (skip: number, limit: number) => (await dataset.page(DEVICE, 'bms', { skip, limit })).records;
    const feed = new DeviceAlertFeed(dataset, DEVICE, { maxRecordsPerTick: 10, maxReadingsPerTick: 5 });
    expect(feed.driver).toBe('bms');
    const seen: number[] = [];
    const detector = (
      feed as unknown as {
        detector: {
          pushRecord: (k: string, r: AlignedRecord) => AlertUpdate[];
          pushReading: (s: string, t: number, v: number) => AlertUpdate[];
        };
      }
    ).detector;
    const pushRecord = detector.pushRecord.bind(detector);
    const pushReading = detector.pushReading.bind(detector);
    detector.pushRecord = (k, r) => (seen.push(Date.parse(r.timestamp)), pushRecord(k, r));
    detector.pushReading = (s, t, v) => (seen.push(t), pushReading(s, t, v));
    const records = await page(0, 120);
    for (const r of records) await feed.push(r);
    expect(seen.every((t, i) => i === 0 || t >= seen[i - 1]!)).toBe(true);
    expect(feed.stats.records).toBeGreaterThan(records.length); // PCS records too
    expect(feed.stats.skipped).toBe(0);
    // Jump a day ahead: only the newest 10 PCS records and 5 readings per signal of that day are fed.
    const before = { ...feed.stats };
    await feed.push((await page(1440 + 120, 1))[0]!);
    expect(feed.stats.records - before.records).toBe(11);
    expect(feed.stats.skipped).toBeGreaterThan(0);
    // Back to the start (a replay cycling): a fresh detector and fresh cursors, one BMS step's worth of data.
    const jumped = feed.stats.records;
    await feed.push(records[0]!);
    expect(feed.stats.records - jumped).toBeGreaterThanOrEqual(1);
    expect(feed.stats.records - jumped).toBeLessThanOrEqual(3); // the record and the PCS records of its 60 s
  });
});
