import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '@bess/core/generate';
import { startPostgres, type ThrowawayPostgres } from '@bess/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexMirror } from './mirror.js';
import { bothStores } from './test-support/stores.js';

let server: ThrowawayPostgres;
const work = mkdtempSync(join(tmpdir(), 'bess-retention-'));
const root = join(work, 'data');
let device: string;
const DAY = 86_400_000;
const APRIL = Date.UTC(2024, 3, 1);

beforeAll(async () => {
  server = await startPostgres();
  const report = await generateDataset({
    root,
    devices: 1,
    days: 70,
    start: '2024-03-01',
    seed: 31,
    cells: false,
    workers: 2,
  });
  device = report.devices[0]!.deviceId;
}, 180_000);
afterAll(() => {
  server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('retention of raw readings', () => {
  it('drops whole months past the setting, and serves the rest as the files store does', async () => {
    const url = await server.freshDatabase();
    const stores = await bothStores(root, join(work, 'index'), url);
    const { files, pg, sql, mirror } = stores;
    const partitions = async () =>
      (
        await sql.query<{ name: string }>(
          "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'bess_pages'::regclass ORDER BY 1",
        )
      ).map((r) => r.name);
    try {
      expect(await partitions()).toEqual(['bess_pages_2024_03', 'bess_pages_2024_04', 'bess_pages_2024_05']);
      // Newest reading 9 May: 30 days back is 9 April, so March alone has ended before it.
      const applied = await mirror.applyRetention(30 * DAY);
      expect(applied).toEqual({ dropped: ['bess_pages_2024_03'], retainedFrom: APRIL });
      expect(await partitions()).toEqual(['bess_pages_2024_04', 'bess_pages_2024_05']);
      await pg.refresh();

      const all = [-Infinity, Infinity] as const;
      for (const signal of ['bms1_soc', 'pcs1_ap', 'bms1_v']) {
        const kept = await pg.readSignal(device, signal, ...all, 1e6);
        const first = kept.t[0]!;
        // A page's readings go with the month of its first one: at most one page of April's first readings goes too.
        expect(first).toBeGreaterThanOrEqual(APRIL);
        const period = files.device(device).signals.find((s) => s.signal === signal)!.medianPeriodMs!;
        expect(first).toBeLessThan(APRIL + 256 * period + 1);
        expect(kept).toStrictEqual(await files.readSignal(device, signal, first, Infinity, 1e6));
        expect(pg.device(device).signals.find((s) => s.signal === signal)!.first).toBe(first);
      }
      expect(await pg.readSignal(device, 'bms1_soc', -Infinity, APRIL - 1)).toStrictEqual({
        t: new Float64Array(0),
        v: new Float64Array(0),
      });
      // Records once every signal's retained readings have begun (and gone stale past the start) are the files store's.
      for (const kind of ['bms', 'pcs'] as const) {
        const range = { skip: 0, limit: 2_000, from: APRIL + 3 * DAY, to: APRIL + 4 * DAY };
        expect(await pg.page(device, kind, range)).toStrictEqual(await files.page(device, kind, range));
      }
      const history = (d: typeof pg | typeof files) =>
        d.downsample(device, 'bms1_soc', APRIL + 2 * DAY, APRIL + 30 * DAY, 300);
      expect(await history(pg)).toStrictEqual(await history(files));

      // A restarted ingest writes nothing; a rewritten file does not bring March back.
      expect(await new IndexMirror(files, sql).sync()).toMatchObject({ pages: 0 });
      const csv = join(root, device, 'bms1_soh.csv');
      const lines = readFileSync(csv, 'utf8').split('\n');
      writeFileSync(csv, lines.map((l, i) => (i > 0 && l ? l.replace(/,[\d.]+$/, ',88.5') : l)).join('\n'));
      await files.refresh();
      await new IndexMirror(files, sql).sync();
      await pg.refresh();
      expect(await partitions()).toEqual(['bess_pages_2024_04', 'bess_pages_2024_05']);
      const soh = await pg.readSignal(device, 'bms1_soh', ...all);
      expect(soh.t[0]).toBeGreaterThanOrEqual(APRIL);
      expect(new Set(soh.v)).toEqual(new Set([88.5]));
    } finally {
      await stores.close();
    }
  }, 300_000);
});
