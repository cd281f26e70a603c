import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellSignal, CABINET } from '../catalog.js';
import { openDataset } from '../dataset.js';
import { csv, scratchRoot, stamp } from '../test-support/tmp.js';
import type { BessDataset } from '../types.js';
import { cellHistory, cellSnapshot, cellStats } from './cells.js';

const T0 = Date.UTC(2024, 2, 1);
const MIN = 60_000;
const scratch = scratchRoot();
let dataset: BessDataset;

beforeAll(async () => {
  // Every cell logs at 0, 5 and 10 minutes; pack 2 cell 17 sags, pack 4 cell 5 runs hot,
  // and at 10 minutes every voltage steps up by 10 mV (to check as-of semantics).
  for (let pack = 1; pack <= CABINET.packs; pack++) {
    for (let cell = 1; cell <= CABINET.cellsPerPack; cell++) {
      const v = pack === 2 && cell === 17 ? 3.2 : 3.3 + cell / 10_000;
      const t = pack === 4 && cell === 5 ? 45 : 25 + pack / 10;
      scratch.write(
        'CAB',
        cellSignal(pack, cell, 'voltage'),
        csv('v', [
          [stamp(T0), v],
          [stamp(T0 + 5 * MIN), v],
          [stamp(T0 + 10 * MIN), v + 0.01],
        ]),
      );
      scratch.write(
        'CAB',
        cellSignal(pack, cell, 'temperature'),
        csv('t', [
          [stamp(T0), t],
          [stamp(T0 + 5 * MIN), t],
          [stamp(T0 + 10 * MIN), t],
        ]),
      );
    }
  }
  scratch.write('NOCELLS', 'bms1_soc', csv('bms1_soc', [[stamp(T0), 50]]));
  dataset = await openDataset(scratch.root, { workers: 0 });
});
afterAll(async () => {
  await dataset.close();
  scratch.remove();
});

describe('cellSnapshot', () => {
  it('reads all 260 cells as of a time, never a later reading', async () => {
    const snap = await cellSnapshot(dataset, 'CAB', T0 + 9 * MIN);
    expect(snap.cells).toHaveLength(260);
    expect(snap.cells.every((c) => c.voltage !== null && c.temperature !== null)).toBe(true);
    const weak = snap.cells.find((c) => c.pack === 2 && c.cell === 17)!;
    expect(weak.voltage).toBe(3.2);
    // the +10 mV step logged at 10 min is not visible at 9 min
    expect(snap.cells.find((c) => c.pack === 1 && c.cell === 1)!.voltage).toBe(3.3001);
    expect(
      (await cellSnapshot(dataset, 'CAB', T0 + 10 * MIN)).cells.find((c) => c.pack === 1 && c.cell === 1)!.voltage,
    ).toBeCloseTo(3.3101, 6);
    expect(snap.voltageSpread).toBeCloseTo(3.3052 - 3.2, 6);
    expect(snap.temperatureSpread).toBeCloseTo(45 - 25.1, 6);
  });

  it('returns nulls before the first reading and once readings are stale', async () => {
    const before = await cellSnapshot(dataset, 'CAB', T0 - MIN);
    expect(before.cells.every((c) => c.voltage === null)).toBe(true);
    const stale = await cellSnapshot(dataset, 'CAB', T0 + 60 * MIN);
    expect(stale.cells.every((c) => c.voltage === null)).toBe(true);
  });

  it('says clearly when a cabinet logs no cells', async () => {
    await expect(cellSnapshot(dataset, 'NOCELLS', T0)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('no per-cell data') as unknown,
    });
  });
});

describe('cellStats', () => {
  it('ranks the weak and the hot cell first, with their deviation from the pack', async () => {
    const stats = await cellStats(dataset, 'CAB', T0, T0 + 10 * MIN, { maxPoints: 3 });
    expect(stats.voltage).toHaveLength(260);
    expect(stats.weakest[0]).toMatchObject({ pack: 2, cell: 17 });
    expect(stats.weakest[0]!.deviation).toBeLessThan(-0.09);
    expect(stats.hottest[0]).toMatchObject({ pack: 4, cell: 5, max: 45 });
    expect(stats.hottest[0]!.deviation).toBeCloseTo(45 - 25.4, 6);
    expect(stats.spread.t).toHaveLength(3);
    expect(stats.spread.voltage[0]).toBeCloseTo(3.3052 - 3.2, 6);
  });
});

describe('cellHistory', () => {
  it('sets a cell next to its pack median, bucket by bucket', async () => {
    const h = await cellHistory(dataset, 'CAB', { pack: 2, cell: 17, quantity: 'voltage' }, T0, T0 + 10 * MIN, 3);
    expect(h.mean).toEqual([3.2, 3.2, 3.21]);
    expect(h.packMedian[0]).toBeCloseTo(3.3026, 4);
    expect(h.packMedian).toHaveLength(3);
    await expect(
      cellHistory(dataset, 'CAB', { pack: 9, cell: 1, quantity: 'voltage' }, T0, T0 + MIN),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
