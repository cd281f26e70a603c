import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../dataset.js';
import { csv, scratchRoot, stamp } from '../test-support/tmp.js';
import type { BessDataset } from '../types.js';
import { energyThroughput } from './energy.js';

const T0 = Date.UTC(2024, 2, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;
const scratch = scratchRoot();
let dataset: BessDataset;

/** A reading a minute over [fromMin, toMin), value f(minute). */
const minutes = (fromMin: number, toMin: number, f: (m: number) => number): [string, number][] =>
  Array.from({ length: toMin - fromMin }, (_, k) => [stamp(T0 + (fromMin + k) * MIN), f(fromMin + k)]);

beforeAll(async () => {
  // 2 h charging at -100 A, 1 h idle, 1 h discharging at 150 A, all at 800 V; then a 2 h outage, 1 h at 50 A.
  const current = (m: number) => (m < 120 ? -100 : m < 180 ? 0 : 150);
  scratch.write('CAB1', 'bms1_c', csv('bms1_c', [...minutes(0, 240, current), ...minutes(360, 420, () => 50)]));
  scratch.write('CAB1', 'bms1_v', csv('bms1_v', [...minutes(0, 240, () => 800), ...minutes(360, 420, () => 800)]));
  dataset = await openDataset(scratch.root, { workers: 0 });
});
afterAll(async () => {
  await dataset.close();
  scratch.remove();
});

describe('energy through the pack', () => {
  it('integrates pack power, charge and discharge apart, and counts nothing across an outage', async () => {
    const e = (await energyThroughput(dataset, 'CAB1', T0, T0 + 7 * HOUR))!;
    expect(e.chargedKwh).toBeCloseTo(160, 6); // 800 V x 100 A x 2 h
    expect(e.dischargedKwh).toBeCloseTo(120 + 40, 6); // 800 V x 150 A x 1 h, then 800 V x 50 A x 1 h
    // 4 h and 1 h of readings; the outage's 2 h are not counted.
    expect(e.coverage).toBeCloseTo(5 / 7, 9);
  });

  it('counts only the part of a reading inside the span', async () => {
    const e = (await energyThroughput(dataset, 'CAB1', T0 + 30 * MIN + 30_000, T0 + 60 * MIN))!;
    expect(e.chargedKwh).toBeCloseTo((800 * 100 * 0.5 - 800 * 100 * (30 / 3600)) / 1000, 6);
    expect(e.dischargedKwh).toBe(0);
  });

  it('is null for a cabinet without pack voltage or current', async () => {
    expect(await energyThroughput(dataset, 'CAB1', T0 + HOUR, T0)).toBeNull();
  });
});
