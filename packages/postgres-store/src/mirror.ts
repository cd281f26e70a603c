import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { IndexedBessDataset, SignalQuality } from '@bess/core';
import type { SignalReader } from '@bess/core/store-kit';
import { BLOCK_ROWS, summarize, SUMMARY_FIELDS, SUMMARY_ROWS } from '@bess/core/store-kit';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { encodePage, rollupOf } from './page-codec.js';
import { ensurePartitions } from './schema.js';
import type { Sql } from './sql.js';

/** What the mirror last committed of one signal. */
interface Mirrored {
  /** The files store's index object it was copied from: another object is a rebuilt index. */
  token: object | null;
  generation: number;
  rows: number;
  /** Everything else the signal row says, to skip signals whose index did not change at all. */
  fingerprint: string;
  /** After a restart: the first and last full page PostgreSQL holds, to tell a grown file from another. */
  checks?: CheckRow[];
}

/** One signal's pending write: its pages from `fromPage` on replace what PostgreSQL holds there. */
interface SignalWrite {
  signal: string;
  fromPage: number;
  generation: number;
  rows: number;
  token: object;
  fingerprint: string;
}

export interface MirrorResult {
  /** Devices whose readings were committed, with their newest reading (epoch ms). */
  committed: Map<string, number>;
  /** Readings (rows) written, counting rewritten last pages again. */
  readings: number;
  pages: number;
}

const PAGE_COLUMNS = 'device_id, signal, t_first, n, format, scale, readings';
const ROLLUP_COLUMNS = 'device_id, signal, t_first, block_no, rollup';
const PAGES_PER_BLOCK = BLOCK_ROWS / SUMMARY_ROWS;

/**
 * Copies the files store's indexes into PostgreSQL, a device per transaction. Idempotent: a
 * signal's pages from the first one that changed are deleted and written again, so a restart (or
 * a file read twice) never duplicates a reading; an append rewrites only the last partial page.
 */
export class IndexMirror {
  private readonly mirrored = new Map<string, Map<string, Mirrored>>();
  private readonly partitions = new Set<string>();
  /** Readings before this time are no longer kept (retention); read from `bess_settings` on first use. */
  private retainedFrom: number | null = null;

  constructor(
    private readonly files: IndexedBessDataset,
    private readonly sql: Sql,
  ) {}

  /** Brings PostgreSQL up to date for `deviceIds` (default: every device the files store has, and any it lost). */
  async sync(deviceIds?: Iterable<string>): Promise<MirrorResult> {
    const result: MirrorResult = { committed: new Map(), readings: 0, pages: 0 };
    this.retainedFrom ??= await this.loadRetainedFrom();
    const ids = new Set(deviceIds ?? [...this.files.devices().map((d) => d.id), ...this.mirrored.keys()]);
    for (const id of ids) await this.syncDevice(id, result);
    return result;
  }

  private async syncDevice(deviceId: string, result: MirrorResult): Promise<void> {
    const known = this.mirrored.get(deviceId) ?? (await this.loadMirrored(deviceId));
    const info = this.files.devices().find((d) => d.id === deviceId);
    const writes: SignalWrite[] = [];
    for (const signal of info?.signals ?? []) {
      const { generation: token, reader } = this.files.indexedSignal(deviceId, signal.signal);
      const before = known.get(signal.signal);
      const fingerprint = fingerprintOf(retainedView(reader, this.retainedFrom ?? -Infinity));
      // Unchanged since the last commit (after a restart: the same rows at both ends, and the same meta).
      const same = before?.token === token || (before?.token === null && samePages(before, reader.summaries()));
      if (before && same && before.fingerprint === fingerprint) continue;
      // An append keeps the full pages PostgreSQL has and rewrites from its last, partial one.
      const appended = before !== undefined && before.rows >= SUMMARY_ROWS && reader.rows >= before.rows && same;
      writes.push({
        signal: signal.signal,
        fromPage: appended ? Math.floor(before.rows / SUMMARY_ROWS) : 0,
        generation: appended ? before.generation : (before?.generation ?? 0) + 1,
        rows: reader.rows,
        token,
        fingerprint,
      });
    }
    const present = new Set(info?.signals.map((s) => s.signal) ?? []);
    const removed = [...known.keys()].filter((s) => !present.has(s));
    if (writes.length === 0 && removed.length === 0) return;

    const counts = await this.sql.transaction(async (client) => {
      const pages = await this.writePages(client, deviceId, writes);
      await this.writeSignals(client, deviceId, writes, this.retainedFrom!);
      if (removed.length > 0) {
        for (const table of ['bess_pages', 'bess_rollups'])
          await client.query(`DELETE FROM ${table} WHERE device_id = $1 AND signal = ANY($2)`, [deviceId, removed]);
        await client.query(
          `UPDATE bess_signals SET deleted = true, rows = 0, generation = generation + 1, seq = nextval('bess_change_seq')
           WHERE device_id = $1 AND signal = ANY($2)`,
          [deviceId, removed],
        );
      }
      return pages;
    });
    for (const w of writes) {
      known.set(w.signal, { token: w.token, generation: w.generation, rows: w.rows, fingerprint: w.fingerprint });
    }
    for (const s of removed) known.delete(s);
    if (!info) this.mirrored.delete(deviceId);
    result.pages += counts.pages;
    result.readings += counts.readings;
    result.committed.set(deviceId, info?.last ?? -Infinity);
  }

  private async loadRetainedFrom(): Promise<number> {
    const [row] = await this.sql.query<{ value: number }>(
      "SELECT value FROM bess_settings WHERE name = 'raw_retained_from'",
    );
    return row?.value ?? -Infinity;
  }

  /**
   * Drops the readings of every month that ended more than `keepMs` before the newest reading
   * (whole partitions: no rows to delete, nothing to vacuum). Rollups stay. In the same
   * transaction every signal's row says where its retained readings begin.
   */
  async applyRetention(keepMs: number): Promise<{ dropped: string[]; retainedFrom: number }> {
    this.retainedFrom ??= await this.loadRetainedFrom();
    const newest = Math.max(...this.files.devices().map((d) => d.last ?? -Infinity));
    const partitions = await this.sql.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'bess_pages'::regclass ORDER BY c.relname`,
    );
    const ends = partitions
      .map(({ name }) => ({ name, end: monthEnd(name) }))
      .filter((p) => p.end !== null && p.end <= newest - keepMs);
    if (ends.length === 0) return { dropped: [], retainedFrom: this.retainedFrom };
    const retainedFrom = Math.max(this.retainedFrom, ...ends.map((p) => p.end!));
    await this.sql.transaction(async (client) => {
      for (const { name } of ends) await client.query(`DROP TABLE ${name}`);
      await client.query(
        `INSERT INTO bess_settings (name, value) VALUES ('raw_retained_from', $1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
        [retainedFrom],
      );
      for (const device of this.files.devices()) {
        const known = this.mirrored.get(device.id) ?? (await this.loadMirrored(device.id));
        const writes = [...known].map(([signal, m]) => ({ signal, generation: m.generation }));
        await this.writeSignals(client, device.id, writes, retainedFrom);
      }
    });
    for (const { name } of ends) this.partitions.delete(name);
    this.retainedFrom = retainedFrom;
    // Each signal's metadata changed: the next sync compares against the new view.
    for (const known of this.mirrored.values()) {
      for (const m of known.values()) m.fingerprint = '';
    }
    return { dropped: ends.map((p) => p.name), retainedFrom };
  }

  /** What PostgreSQL holds of a device the mirror has not written since it started. */
  private async loadMirrored(deviceId: string): Promise<Map<string, Mirrored>> {
    const rows = await this.sql.query<{
      signal: string;
      generation: string;
      rows: string;
      retained_from_page: number;
      first_ms: number | null;
      last_ms: number | null;
      gaps: number;
      segments: number[];
      quality: SignalQuality;
      stale_after_ms: number | null;
      median_period_ms: number | null;
    }>('SELECT * FROM bess_signals WHERE device_id = $1 AND NOT deleted', [deviceId]);
    const known = new Map<string, Mirrored>();
    for (const r of rows) {
      const fingerprint = fingerprintOf({
        base: r.retained_from_page,
        rows: Number(r.rows),
        first: r.first_ms,
        last: r.last_ms,
        segments: r.segments,
        quality: r.quality,
        staleAfterMs: r.stale_after_ms,
        medianPeriodMs: r.median_period_ms,
        gaps: r.gaps,
      });
      // Dropped pages were full ones (a later page followed each): the file's rows are theirs and the stored.
      const rows = Number(r.rows) + r.retained_from_page * SUMMARY_ROWS;
      known.set(r.signal, { token: null, generation: Number(r.generation), rows, fingerprint });
    }
    // The first and the last full page of each signal, to tell a grown file from a different one.
    const blocks = await this.sql.query<{ signal: string; block_no: number; rollup: Buffer }>(
      `SELECT r.signal, r.block_no, r.rollup
       FROM bess_rollups r JOIN bess_signals s ON s.device_id = r.device_id AND s.signal = r.signal
       WHERE r.device_id = $1 AND (r.block_no = 0
         OR r.block_no = ((s.rows + s.retained_from_page * ${SUMMARY_ROWS}) / ${SUMMARY_ROWS} - 1) / ${PAGES_PER_BLOCK})`,
      [deviceId],
    );
    for (const b of blocks) {
      const m = known.get(b.signal);
      if (!m) continue;
      const rollup = rollupOf(b.rollup);
      for (let k = 0; k * SUMMARY_FIELDS < rollup.length; k++) {
        (m.checks ??= []).push({
          page: b.block_no * PAGES_PER_BLOCK + k,
          rollup: [...rollup.subarray(k * SUMMARY_FIELDS, (k + 1) * SUMMARY_FIELDS)],
        });
      }
    }
    this.mirrored.set(deviceId, known);
    return known;
  }

  /**
   * Each write's pages from its `fromPage` on and the rollups of their blocks replace what
   * PostgreSQL holds there. Rollups are recomputed from the rows being written (the index writer's
   * code, same order of sums), so a partial last page's is never an older one's.
   */
  private async writePages(
    client: pg.PoolClient,
    deviceId: string,
    writes: SignalWrite[],
  ): Promise<{ pages: number; readings: number }> {
    const prepared = writes.map((w) => {
      const { reader } = this.files.indexedSignal(deviceId, w.signal);
      const fromBlock = Math.floor((w.fromPage * SUMMARY_ROWS) / BLOCK_ROWS);
      const rollups: Float64Array[] = [];
      for (let b = fromBlock; b * BLOCK_ROWS < reader.rows; b++) {
        const rows = reader.block(b);
        rollups.push(summarize(rows, rows.length / 2));
      }
      return { w, reader, fromBlock, rollups };
    });
    const pageStart = (x: (typeof prepared)[number], p: number): number | undefined => {
      const local = p - x.fromBlock * PAGES_PER_BLOCK;
      return x.rollups[Math.floor(local / PAGES_PER_BLOCK)]?.[(local % PAGES_PER_BLOCK) * SUMMARY_FIELDS];
    };
    let firstTime = Infinity;
    let lastTime = -Infinity;
    for (const x of prepared) {
      const first = pageStart(x, x.w.fromPage);
      if (first !== undefined) firstTime = Math.min(firstTime, first);
      const last = x.rollups.at(-1);
      if (last) lastTime = Math.max(lastTime, last[last.length - SUMMARY_FIELDS]!);
    }
    // Pages before the retention point are not written again (a rebuilt file's old months).
    const keepFrom = this.retainedFrom ?? -Infinity;
    firstTime = Math.max(firstTime, keepFrom);
    if (Number.isFinite(firstTime)) await ensurePartitions(client, firstTime, lastTime, this.partitions);
    const from = (x: (typeof prepared)[number], p: number): number | string =>
      p === 0 ? '-Infinity' : (pageStart(x, p) ?? 'Infinity');
    const signals = prepared.map((x) => x.w.signal);
    for (const [table, fromOf] of [
      ['bess_pages', (x: (typeof prepared)[number]) => from(x, x.w.fromPage)],
      ['bess_rollups', (x: (typeof prepared)[number]) => from(x, x.fromBlock * PAGES_PER_BLOCK)],
    ] as const) {
      await client.query(
        `DELETE FROM ${table} p USING unnest($2::text[], $3::float8[]) AS d(signal, t_from)
         WHERE p.device_id = $1 AND p.signal = d.signal AND p.t_first >= d.t_from`,
        [deviceId, signals, prepared.map(fromOf)],
      );
    }
    const counts = { pages: 0, readings: 0 };
    function* pageLines(): Generator<string> {
      for (const { w, reader } of prepared) {
        for (let p = w.fromPage; p * SUMMARY_ROWS < reader.rows; p++) {
          const block = reader.block(Math.floor((p * SUMMARY_ROWS) / BLOCK_ROWS));
          const at = ((p * SUMMARY_ROWS) % BLOCK_ROWS) * 2;
          const n = Math.min(SUMMARY_ROWS, reader.rows - p * SUMMARY_ROWS);
          if (block[at]! < keepFrom) continue;
          const encoded = encodePage(block.subarray(at, at + n * 2), n, reader.meta.rowFormat);
          counts.pages++;
          counts.readings += n;
          yield `${deviceId}\t${w.signal}\t${num(block[at]!)}\t${n}\t${encoded.format}\t${encoded.scale}\t\\\\x${encoded.bytes.toString('hex')}\n`;
        }
      }
    }
    function* rollupLines(): Generator<string> {
      for (const { w, fromBlock, rollups } of prepared) {
        for (let k = 0; k < rollups.length; k++) {
          const r = rollups[k]!;
          yield `${deviceId}\t${w.signal}\t${num(r[0]!)}\t${fromBlock + k}\t\\\\x${Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('hex')}\n`;
        }
      }
    }
    await pipeline(
      Readable.from(pageLines()),
      client.query(copyStreams.from(`COPY bess_pages (${PAGE_COLUMNS}) FROM STDIN`)),
    );
    await pipeline(
      Readable.from(rollupLines()),
      client.query(copyStreams.from(`COPY bess_rollups (${ROLLUP_COLUMNS}) FROM STDIN`)),
    );
    return counts;
  }

  private async writeSignals(
    client: pg.PoolClient,
    deviceId: string,
    writes: { signal: string; generation: number }[],
    retainedFrom: number,
  ): Promise<void> {
    if (writes.length === 0) return;
    const views = writes.map((w) => retainedView(this.files.indexedSignal(deviceId, w.signal).reader, retainedFrom));
    await client.query(
      `INSERT INTO bess_signals (device_id, signal, generation, seq, deleted, rows, first_ms, last_ms,
         median_period_ms, stale_after_ms, segments, gaps, quality, retained_from_page)
       SELECT $1, d.signal, d.generation, nextval('bess_change_seq'), false, d.rows, d.first_ms, d.last_ms,
         d.median_period_ms, d.stale_after_ms, ARRAY(SELECT jsonb_array_elements_text(d.segments)::float8), d.gaps,
         d.quality, d.base
       FROM jsonb_to_recordset($2::jsonb) AS d(signal text, generation bigint, rows bigint, first_ms float8, last_ms float8,
         median_period_ms float8, stale_after_ms float8, segments jsonb, gaps integer, quality jsonb, base integer)
       ON CONFLICT (device_id, signal) DO UPDATE SET generation = excluded.generation, seq = excluded.seq,
         deleted = false, rows = excluded.rows, first_ms = excluded.first_ms, last_ms = excluded.last_ms,
         median_period_ms = excluded.median_period_ms, stale_after_ms = excluded.stale_after_ms,
         segments = excluded.segments, gaps = excluded.gaps, quality = excluded.quality,
         retained_from_page = excluded.retained_from_page`,
      [
        deviceId,
        JSON.stringify(
          writes.map((w, i) => {
            const v = views[i]!;
            return {
              signal: w.signal,
              generation: w.generation,
              rows: v.rows,
              first_ms: v.first,
              last_ms: v.last,
              median_period_ms: v.medianPeriodMs,
              stale_after_ms: v.staleAfterMs,
              segments: v.segments,
              gaps: v.gaps,
              quality: v.quality,
              base: v.base,
            };
          }),
        ),
      ],
    );
  }
}

/** One page's rollup as PostgreSQL holds it. */
interface CheckRow {
  page: number;
  rollup: number[];
}

/** Whether the first and last full page PostgreSQL holds are the index's pages there. */
function samePages(before: Mirrored, summaries: Float64Array): boolean {
  const wanted = new Set(
    [0, Math.floor(before.rows / SUMMARY_ROWS) - 1].filter((p) => p >= 0 && p * SUMMARY_ROWS < before.rows),
  );
  const checks = (before.checks ?? []).filter((c) => wanted.has(c.page));
  if (new Set(checks.map((c) => c.page)).size !== wanted.size) return false;
  return checks.every((c) => c.rollup.every((x, k) => Object.is(x, summaries[c.page * SUMMARY_FIELDS + k])));
}

/** What `bess_signals` says of a signal whose readings before `retainedFrom` are dropped. */
interface RetainedView {
  /** Stored pages whose readings are dropped (their first time is before `retainedFrom`). */
  base: number;
  rows: number;
  first: number | null;
  last: number | null;
  segments: number[];
  quality: SignalQuality;
  staleAfterMs: number | null;
  medianPeriodMs: number | null;
  gaps: number;
}

function retainedView(reader: SignalReader, retainedFrom: number): RetainedView {
  const { meta } = reader;
  const summaries = reader.summaries();
  const pages = summaries.length / SUMMARY_FIELDS;
  let base = 0;
  let dropped = 0;
  while (base < pages && summaries[base * SUMMARY_FIELDS]! < retainedFrom)
    dropped += summaries[base++ * SUMMARY_FIELDS + 5]!;
  const rows = reader.rows - dropped;
  const first = rows > 0 ? summaries[base * SUMMARY_FIELDS]! : null;
  const segments: number[] = [];
  if (first !== null) {
    for (let i = 0; i < meta.segments.length; i += 2) {
      if (meta.segments[i + 1]! < first) continue;
      segments.push(Math.max(first, meta.segments[i]!), meta.segments[i + 1]!);
    }
  }
  return {
    base,
    rows,
    first,
    last: rows > 0 ? meta.last : null,
    segments,
    quality: meta.quality,
    staleAfterMs: meta.staleAfterMs,
    medianPeriodMs: meta.medianPeriodMs,
    gaps: meta.gaps,
  };
}

/** Everything the signal row says besides its readings, in one comparable string (key order aside). */
function fingerprintOf(meta: RetainedView): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    return Object.fromEntries(entries.map(([k, v]) => [k, sorted(v)]));
  };
  return JSON.stringify(
    sorted([
      meta.base,
      meta.rows,
      meta.first,
      meta.last,
      meta.segments,
      meta.quality,
      meta.staleAfterMs,
      meta.medianPeriodMs,
      meta.gaps,
    ]),
  );
}

/** A float8 as COPY text, exactly (including -0). */
function num(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/** The first instant after partition `bess_pages_YYYY_MM`'s month (epoch ms), or null for another name. */
function monthEnd(name: string): number | null {
  const m = /^bess_pages_(\d{4})_(\d{2})$/.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]), 1) : null;
}
