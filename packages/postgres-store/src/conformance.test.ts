import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  cellHistory,
  cellSnapshot,
  cellStats,
  detectAnomalies,
  forecastSignal,
  remainingUsefulLife,
  type BessDataset,
  type RecordKind,
} from '@bess/core';
import { generateDataset } from '@bess/core/generate';
import { startPostgres, type ThrowawayPostgres } from '@bess/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bothStores } from './test-support/stores.js';

/**
 * One behaviour, two stores: every question asked of the files store and of the PostgreSQL store
 * that mirrors it gets the same answer, bit for bit. Over the bundled sample (an outage, broken
 * lines, three cabinets) and a generated cabinet of the varied family with its 520 cell files.
 */
const SAMPLE = resolve(import.meta.dirname, '../../../data');
const HOUR = 3_600_000;

let server: ThrowawayPostgres;
const work = mkdtempSync(join(tmpdir(), 'bess-conformance-'));

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => {
  server?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Equal as the API would send them, and equal in every float's bits (JSON drops -0; this does not). */
function same<T>(a: T, b: T, what: string): void {
  expect(b, what).toStrictEqual(a);
}

/** Questions asked, and how many of them both stores refused (the few asked to fail on purpose). */
async function conforms(files: BessDataset, pg: BessDataset): Promise<{ asked: number; refused: number }> {
  let asked = 0;
  let refused = 0;
  const ask = async <T>(what: string, q: (d: BessDataset) => Promise<T> | T): Promise<void> => {
    const [a, b] = await Promise.all([settle(() => q(files)), settle(() => q(pg))]);
    same(a, b, what);
    asked++;
    if (a && typeof a === 'object' && 'error' in a) refused++;
  };
  await ask('devices', (d) => d.devices());
  for (const info of files.devices()) {
    const id = info.id;
    const first = info.first!;
    const last = info.last!;
    const mid = Math.round((first + last) / 2);
    for (const kind of ['bms', 'pcs'] as RecordKind[]) {
      await ask(`${id} ${kind} step`, (d) => d.defaultStepMs(id, kind));
      const total = (await files.page(id, kind, { skip: 0, limit: 1 })).total;
      for (const skip of [
        0,
        1,
        99,
        Math.floor(total / 3),
        Math.floor(total / 2),
        total - 100,
        total - 1,
        total,
        total + 5,
      ]) {
        if (skip < 0) continue;
        await ask(`${id} ${kind} page skip=${skip}`, (d) => d.page(id, kind, { skip, limit: 100 }));
      }
      for (const stepMs of [1_000, 60_000, 15 * 60_000, 86_400_000]) {
        await ask(`${id} ${kind} step ${stepMs}`, (d) => d.page(id, kind, { skip: 3, limit: 500, stepMs }));
        await ask(`${id} ${kind} range step ${stepMs}`, (d) =>
          d.page(id, kind, { skip: 0, limit: 300, stepMs, from: mid - HOUR, to: mid + 5 * HOUR }),
        );
        await ask(`${id} ${kind} position`, (d) => d.positionOf(id, kind, mid + 123, stepMs));
      }
      await ask(`${id} ${kind} limit 10000`, (d) => d.page(id, kind, { skip: 7, limit: 10_000 }));
      await ask(`${id} ${kind} bad skip`, (d) => d.page(id, kind, { skip: -1, limit: 10 }));
    }
    const signals = info.signals.filter((s, i) => i % 7 === 0 || /soc|current|_p1_v1$|_p3_t52$/.test(s.signal));
    for (const s of signals) {
      await ask(`${id} ${s.signal} read`, (d) => d.readSignal(id, s.signal, mid - 6 * HOUR, mid + 2 * HOUR));
      await ask(`${id} ${s.signal} read all`, (d) => d.readSignal(id, s.signal, -Infinity, Infinity, 50_000));
      for (const t of [first - 1, first, mid, mid + 0.5, last, last + HOUR]) {
        await ask(`${id} ${s.signal} at ${t}`, (d) => d.valueAt(id, s.signal, t));
      }
      for (const points of [1, 7, 600, 5_000]) {
        await ask(`${id} ${s.signal} downsample ${points}`, (d) => d.downsample(id, s.signal, first, last, points));
        await ask(`${id} ${s.signal} downsample window ${points}`, (d) =>
          d.downsample(id, s.signal, mid - 3 * HOUR, mid + 17, points),
        );
      }
    }
    await ask(`${id} unknown signal`, (d) => d.valueAt(id, '../../etc/passwd', mid));
    if (info.hasCells) {
      for (const t of [first, mid, last]) await ask(`${id} cells at ${t}`, (d) => cellSnapshot(d, id, t));
      await ask(`${id} cell stats`, (d) => cellStats(d, id, first, last));
      await ask(`${id} cell history`, (d) =>
        cellHistory(d, id, { pack: 2, cell: 17, quantity: 'voltage' }, first, last),
      );
    }
    await ask(`${id} anomalies`, (d) => detectAnomalies(d, id));
    await ask(`${id} forecast`, (d) => forecastSignal(d, id, 'bms1_soc', 24));
    await ask(`${id} rul`, (d) => remainingUsefulLife(d, id));
  }
  await ask('unknown device', (d) => d.page('ZZZ', 'bms', { skip: 0, limit: 1 }));
  return { asked, refused };
}

/** A value, or the error's class, code, field and message: both stores must fail alike too. */
async function settle<T>(q: () => Promise<T> | T): Promise<T | { error: unknown }> {
  try {
    return await q();
  } catch (error) {
    const e = error as { name?: string; code?: string; field?: string; message?: string };
    return { error: { name: e.name, code: e.code, field: e.field, message: e.message } };
  }
}

describe('the PostgreSQL store answers as the files store does', () => {
  it('on the bundled sample', async () => {
    const url = await server.freshDatabase();
    const stores = await bothStores(SAMPLE, join(work, 'sample-index'), url);
    try {
      const { asked, refused } = await conforms(stores.files, stores.pg);
      expect(asked).toBeGreaterThan(500);
      // Refused on purpose: a negative skip, an unknown signal per cabinet, an unknown cabinet.
      expect(refused).toBe(2 * 3 + 3 + 1);
    } finally {
      await stores.close();
    }
  }, 600_000);

  it('on a generated cabinet of the varied family, with its cell files', async () => {
    const root = join(work, 'varied');
    await generateDataset({
      root,
      devices: 1,
      days: 2,
      seed: 9103,
      cells: true,
      family: 'varied',
      dirt: true,
      workers: 2,
    });
    const url = await server.freshDatabase();
    const stores = await bothStores(root, join(work, 'varied-index'), url);
    try {
      const { asked, refused } = await conforms(stores.files, stores.pg);
      expect(asked).toBeGreaterThan(200);
      expect(refused).toBe(2 + 1 + 1);
    } finally {
      await stores.close();
    }
  }, 600_000);
});
