import { appendFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '@bess/core/generate';
import { startPostgres, type ThrowawayPostgres } from '@bess/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexMirror } from './mirror.js';
import { bothStores } from './test-support/stores.js';

let server: ThrowawayPostgres;
const work = mkdtempSync(join(tmpdir(), 'bess-mirror-'));
const root = join(work, 'data');
let device: string;

beforeAll(async () => {
  server = await startPostgres();
  const report = await generateDataset({ root, devices: 1, days: 1, seed: 77, cells: false, workers: 2 });
  device = report.devices[0]!.deviceId;
}, 120_000);
afterAll(() => {
  server?.stop();
  rmSync(work, { recursive: true, force: true });
});

const csv = (signal: string): string => join(root, device, `${signal}.csv`);

describe('the ingest mirror', () => {
  it('keeps PostgreSQL equal to the files through appends, restarts, rewrites and removals', async () => {
    const url = await server.freshDatabase();
    const stores = await bothStores(root, join(work, 'index'), url);
    const { files, pg, sql } = stores;
    try {
      const stored = async (signal: string) =>
        (
          await sql.query<{ pages: string; readings: string }>(
            'SELECT count(*) AS pages, sum(n) AS readings FROM bess_pages WHERE device_id = $1 AND signal = $2',
            [device, signal],
          )
        )[0]!;
      const soc = files.device(device).signals.find((s) => s.signal === 'bms1_soc')!;
      expect(await stored('bms1_soc')).toEqual({
        pages: String(Math.ceil(soc.rows / 256)),
        readings: String(soc.rows),
      });

      // An append: only the last partial page and the new rows are written.
      const last = soc.last!;
      const lines = Array.from({ length: 300 }, (_, i) => {
        const t = new Date(last + (i + 1) * 60_000).toISOString().replace('T', ' ').slice(0, 19);
        return `${t},${(40 + i / 10).toFixed(1)}\n`;
      });
      appendFileSync(csv('bms1_soc'), lines.join(''));
      await files.refresh();
      const appended = await stores.mirror.sync();
      expect(appended.readings).toBeGreaterThanOrEqual(300);
      expect(appended.readings).toBeLessThan(300 + 256);
      const change = await pg.refresh();
      expect(change.devices.get(device)).toEqual(['bms1_soc']);
      expect(change.latest.get(device)).toBe(last + 300 * 60_000);
      expect(await stored('bms1_soc')).toEqual({
        pages: String(Math.ceil((soc.rows + 300) / 256)),
        readings: String(soc.rows + 300),
      });
      const all = [-Infinity, Infinity] as const;
      expect(await pg.readSignal(device, 'bms1_soc', ...all)).toStrictEqual(
        await files.readSignal(device, 'bms1_soc', ...all),
      );
      const tail = { skip: 0, limit: 400, from: last - 3_600_000 };
      expect(await pg.page(device, 'bms', tail)).toStrictEqual(await files.page(device, 'bms', tail));

      // A restarted ingest finds everything in place and writes nothing.
      const restarted = await new IndexMirror(files, sql).sync();
      expect(restarted).toMatchObject({ pages: 0, readings: 0 });

      // A file rewritten with other readings replaces what PostgreSQL held.
      const original = readFileSync(csv('bms1_soh'), 'utf8').split('\n');
      writeFileSync(
        csv('bms1_soh'),
        original.map((l, i) => (i > 0 && l ? l.replace(/,[\d.]+$/, ',77.5') : l)).join('\n'),
      );
      await files.refresh();
      await new IndexMirror(files, sql).sync();
      await pg.refresh();
      const soh = await pg.readSignal(device, 'bms1_soh', ...all);
      expect(new Set(soh.v)).toEqual(new Set([77.5]));
      expect(soh).toStrictEqual(await files.readSignal(device, 'bms1_soh', ...all));

      // A removed file is a removed signal on both.
      unlinkSync(csv('ac1_outside_t'));
      await files.refresh();
      await stores.mirror.sync();
      await pg.refresh();
      expect(pg.devices()).toStrictEqual(files.devices());
      expect(await stored('ac1_outside_t')).toEqual({ pages: '0', readings: null });
    } finally {
      await stores.close();
    }
  }, 300_000);
});
