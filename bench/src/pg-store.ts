import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cellSnapshot, openDataset, type IndexedBessDataset, type RecordKind } from '@bess/core';
import { IndexMirror, migrate, openPostgresDataset, Sql } from '@bess/postgres-store';
import { startPostgres } from '@bess/test-servers';
import copyStreams from 'pg-copy-streams';
import { datasetBytes } from './files.js';
import { peakRssMb, report, round, timed } from './measure.js';

/**
 * Step: the PostgreSQL store on one throwaway PostgreSQL 15 server (fsync on). Args: root.
 * - floor: plain COPY of one row per reading (device, signal, t, v), the same readings;
 * - ingest: CSV -> files index -> PostgreSQL, end to end, from a cold index;
 * - bytes per reading on disk (pages, TOAST, indexes and rollups; the signals table);
 * - a fresh API replica's queries: batch pages at start, middle and end; history over a day, a
 *   month and the whole span; cell snapshots.
 */
const [root] = process.argv.slice(2) as [string];
process.env.BESS_PG_FSYNC = 'on';
const server = await startPostgres();
const work = mkdtempSync(join(tmpdir(), 'bess-pg-bench-'));
const FLOOR_ROWS = 5_000_000;

/** COPY of `limit` readings as one row each: the floor the page layout is measured against. */
async function plainCopy(
  files: IndexedBessDataset,
  url: string,
  limit: number,
): Promise<{ rows: number; seconds: number; bytesPerReading: number }> {
  const sql = new Sql(url, 1);
  await sql.query(
    'CREATE TABLE floor_readings (device_id text NOT NULL, signal text NOT NULL, t float8 NOT NULL, v float8 NOT NULL)',
  );
  let rows = 0;
  function* lines(): Generator<string> {
    for (const device of files.devices()) {
      for (const s of device.signals) {
        const { reader } = files.indexedSignal(device.id, s.signal);
        for (let first = 0; first < reader.rows && rows < limit; first += 4096) {
          const { t, v } = reader.copyRows(first, Math.min(4096, reader.rows - first, limit - rows));
          let chunk = '';
          for (let i = 0; i < t.length; i++) chunk += `${device.id}\t${s.signal}\t${t[i]}\t${v[i]}\n`;
          rows += t.length;
          yield chunk;
        }
        if (rows >= limit) return;
      }
    }
  }
  const client = await sql.pool.connect();
  const started = performance.now();
  await pipeline(Readable.from(lines()), client.query(copyStreams.from('COPY floor_readings FROM STDIN')));
  const seconds = (performance.now() - started) / 1000;
  client.release();
  await sql.query('CREATE INDEX ON floor_readings (device_id, signal, t)');
  const [size] = await sql.query<{ bytes: string }>("SELECT pg_total_relation_size('floor_readings') AS bytes");
  await sql.query('DROP TABLE floor_readings');
  await sql.close();
  return { rows, seconds: round(seconds, 2), bytesPerReading: round(Number(size!.bytes) / rows, 1) };
}

try {
  const url = await server.freshDatabase();
  const csv = datasetBytes(root);

  // End to end from the CSVs: a cold files index (the ingest role's spool), then the mirror.
  const indexStarted = performance.now();
  const files = await openDataset(root, { indexDir: join(work, 'index'), workers: 2 });
  const indexSeconds = (performance.now() - indexStarted) / 1000;
  const readings = files.devices().reduce((n, d) => n + d.signals.reduce((m, s) => m + s.rows, 0), 0);
  const sql = new Sql(url, 2);
  await migrate(sql);
  const mirrorStarted = performance.now();
  const mirrored = await new IndexMirror(files, sql).sync();
  const mirrorSeconds = (performance.now() - mirrorStarted) / 1000;
  const restart = performance.now();
  const again = await new IndexMirror(files, sql).sync();
  const restartSeconds = (performance.now() - restart) / 1000;

  await sql.query('VACUUM ANALYZE');
  // Everything the store keeps: readings' partitions (with their TOAST and indexes), rollups, signals.
  const [sizes] = await sql.query<{ pages: string; pageIndexes: string; rollups: string; signals: string }>(
    `SELECT sum(pg_total_relation_size(c.oid)) AS pages,
            sum(pg_indexes_size(c.oid)) AS "pageIndexes",
            pg_total_relation_size('bess_rollups') AS rollups,
            pg_total_relation_size('bess_signals') AS signals
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'bess_pages'::regclass`,
  );
  const bytes = Number(sizes!.pages) + Number(sizes!.rollups) + Number(sizes!.signals);

  const floor = await plainCopy(files, url, FLOOR_ROWS);

  // A fresh API replica: nothing cached.
  const openStarted = performance.now();
  const pg = await openPostgresDataset(url);
  const devices = pg.devices();
  const first = devices[0]!;
  await pg.page(first.id, 'bms', { skip: 0, limit: 100 });
  const firstPageMs = performance.now() - openStarted;
  // What the server does once it listens (main.ts), as the files store's query step does too.
  const warmStarted = performance.now();
  await pg.warm();
  const warmMs = performance.now() - warmStarted;
  const kinds: RecordKind[] = ['bms', 'pcs'];
  const pages: Record<string, unknown> = {};
  for (const kind of kinds) {
    const total = (await pg.page(first.id, kind, { skip: 0, limit: 1 })).total;
    for (const [label, skip] of [
      ['start', 0],
      ['middle', Math.floor(total / 2)],
      ['end', Math.max(0, total - 100)],
    ] as const) {
      let n = 0;
      pages[`${kind}.${label}`] = await timed(
        async () => {
          const device = devices[n++ % devices.length]!;
          await pg.page(device.id, kind, { skip: Math.max(0, skip - (n % 7) * 100), limit: 100 });
        },
        200,
        2,
      );
    }
  }
  const history: Record<string, unknown> = {};
  for (const [label, ms] of [
    ['day', 86_400_000],
    ['month', 30 * 86_400_000],
    ['all', first.last! - first.first!],
  ] as const) {
    let n = 0;
    history[label] = await timed(
      async () => {
        const device = devices[n++ % devices.length]!;
        const to = device.last!;
        await pg.downsample(device.id, 'pcs1_ap', Math.max(device.first!, to - ms), to, 1000);
      },
      30,
      2,
    );
  }
  const withCells = devices.filter((d) => d.hasCells);
  let c = 0;
  const cellSnapshots = withCells.length
    ? await timed(
        async () => {
          const d = withCells[c++ % withCells.length]!;
          await cellSnapshot(pg, d.id, d.first! + ((c * 7_919_000_000) % (d.last! - d.first!)));
        },
        30,
        2,
      )
    : null;

  const spanSeconds = (first.last! - first.first!) / 1000;
  const perCabinetReadingsPerSecond = readings / devices.length / spanSeconds;
  const ingestRate = readings / (indexSeconds + mirrorSeconds);
  report({
    server: 'PostgreSQL 15 (Debian), throwaway, fsync on, default settings, same 2 cores as this process',
    dataset: { ...csv, readings, devices: devices.length },
    floor: { ...floor, readingsPerSecond: Math.round(floor.rows / floor.seconds) },
    ingest: {
      indexSeconds: round(indexSeconds, 2),
      mirrorSeconds: round(mirrorSeconds, 2),
      readingsPerSecond: Math.round(ingestRate),
      csvMbPerSecond: round(csv.bytes / 1e6 / (indexSeconds + mirrorSeconds), 1),
      mirrorReadingsPerSecond: Math.round(readings / mirrorSeconds),
      pagesWritten: mirrored.pages,
      restartSeconds: round(restartSeconds, 2),
      restartPagesWritten: again.pages,
    },
    disk: {
      bytes,
      bytesPerReading: round(bytes / readings, 2),
      readingsBytes: Number(sizes!.pages),
      readingsIndexBytes: Number(sizes!.pageIndexes),
      rollupsBytes: Number(sizes!.rollups),
      signalsBytes: Number(sizes!.signals),
    },
    replica: { firstPageAfterOpenMs: round(firstPageMs, 1), warmMs: round(warmMs, 1), pages, history, cellSnapshots },
    capacity: {
      perCabinetReadingsPerSecond: round(perCabinetReadingsPerSecond, 1),
      cabinetsByIngestRate: Math.floor(readings / mirrorSeconds / perCabinetReadingsPerSecond),
      diskGbPerCabinetYear: round(((bytes / readings) * perCabinetReadingsPerSecond * 365 * 86_400) / 1e9, 2),
    },
    peakRssMb: peakRssMb(),
  });
  await pg.close();
  await sql.close();
  await files.close();
} finally {
  server.stop();
  rmSync(work, { recursive: true, force: true });
}
