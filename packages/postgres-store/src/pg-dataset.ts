import type { BessDataset, DatasetChange, DatasetHealth, SignalQuality } from '@bess/core';
import {
  deviceInfo,
  Lru,
  ReaderDataset,
  SUMMARY_FIELDS,
  type DescribedMeta,
  type RowNeed,
  type StoredDevice,
} from '@bess/core/store-kit';
import { decodePage, rollupOf } from './page-codec.js';
import { PgSignalReader } from './pg-reader.js';
import { schemaReady } from './schema.js';
import { TickBatch } from './tick-batch.js';
import { Sql, StoreUnavailableError } from './sql.js';

export interface PostgresDatasetOptions {
  /** Memory for fetched pages (bytes); default 64 MiB. */
  cacheBytes?: number;
  /** Connections to PostgreSQL; default 8. */
  connections?: number;
  log?: (event: Record<string, unknown>) => void;
}

interface SignalRow {
  device_id: string;
  signal: string;
  generation: string;
  seq: string;
  deleted: boolean;
  rows: string;
  first_ms: number | null;
  last_ms: number | null;
  median_period_ms: number | null;
  stale_after_ms: number | null;
  segments: number[];
  gaps: number;
  quality: SignalQuality;
  retained_from_page: number;
}

/** The schema is not there yet: the ingest role (or `migrate`) creates it. Retried like an outage. */
export class SchemaMissingError extends StoreUnavailableError {
  constructor() {
    super(new Error('no bess_schema table'));
    this.message = 'the PostgreSQL store has no schema yet: start the ingest role first';
  }
}

/**
 * Serves the dataset interface from the PostgreSQL store (see docs/postgres-store.md). Reads
 * only: `url` may be a read-only standby. Throws SchemaMissingError until the ingest created it.
 */
export async function openPostgresDataset(url: string, options: PostgresDatasetOptions = {}): Promise<PostgresDataset> {
  const sql = new Sql(url, options.connections ?? 8);
  try {
    if (!(await schemaReady(sql))) throw new SchemaMissingError();
    const dataset = new PostgresDataset(sql, redact(url), options);
    await dataset.refresh();
    return dataset;
  } catch (error) {
    await sql.close();
    throw error;
  }
}

export class PostgresDataset extends ReaderDataset<PgSignalReader> implements BessDataset {
  private readonly devicesById = new Map<string, StoredDevice<PgSignalReader>>();
  private readonly cache: Lru<Float64Array>;
  private readonly listeners = new Set<(change: DatasetChange) => void>();
  private seenSeq = 0;
  private refreshing: Promise<DatasetChange> | null = null;
  private again = false;
  private lastError: { at: number; error: string } | null = null;
  private closed = false;
  private readonly summaryBatch = new TickBatch<PgSignalReader>((readers) =>
    this.loadSummaries([...new Set(readers)].filter((r) => !r.summariesCurrent)),
  );
  private readonly pageBatch = new TickBatch<[PgSignalReader, number]>((wanted) => this.fetchPages(wanted));

  constructor(
    private readonly sql: Sql,
    readonly root: string,
    options: PostgresDatasetOptions,
  ) {
    super();
    this.cache = new Lru<Float64Array>(options.cacheBytes ?? 64 * 1024 * 1024, (rows) => rows.byteLength);
  }

  readonly indexWorkers = 0;

  protected lookup(deviceId: string): StoredDevice<PgSignalReader> | undefined {
    return this.devicesById.get(deviceId);
  }

  protected allDevices(): Iterable<StoredDevice<PgSignalReader>> {
    return this.devicesById.values();
  }

  protected async ensureRows(needs: RowNeed<PgSignalReader>[]): Promise<void> {
    if (needs.length === 0) return;
    await this.track(async () => {
      const stale = needs.map((n) => n.reader).filter((r) => !r.summariesCurrent);
      if (stale.length > 0) await this.summaryBatch.add(stale);
      const wanted: [PgSignalReader, number][] = [];
      for (const need of needs) {
        if (!need.reader.summariesCurrent) {
          // Rewritten (or removed) since this replica last looked: learn of it; the query retries.
          void this.refresh().catch(() => undefined);
          continue;
        }
        const pages = new Set<number>();
        need.reader.pagesFor(need, pages);
        for (const p of pages) wanted.push([need.reader, p]);
      }
      if (wanted.length > 0) await this.pageBatch.add(wanted);
    });
  }

  /** Each reader's rollups (from its last block on) and the metadata of the same snapshot. */
  private async loadSummaries(readers: PgSignalReader[]): Promise<void> {
    if (readers.length === 0) return;
    const fromBlock = readers.map((r) => r.reloadFromBlock);
    const args = [
      readers.map((r) => r.deviceId),
      readers.map((r) => r.meta.signal),
      readers.map((r) => r.generation),
      readers.map((r) => (Number.isFinite(r.reloadFromTime) ? r.reloadFromTime : '-Infinity')),
      fromBlock,
    ];
    const unnest = `unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::int[]) WITH ORDINALITY AS d(device_id, signal, generation, t_from, from_block, i)`;
    const rows = await this.sql.transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const metas = await client.query<SignalRow & { i: string }>(
        `SELECT d.i, s.* FROM ${unnest}
         JOIN bess_signals s ON s.device_id = d.device_id AND s.signal = d.signal AND s.generation = d.generation
         WHERE NOT s.deleted`,
        args,
      );
      const rollups = await client.query<{ i: string; rollup: Buffer }>(
        `SELECT d.i, r.rollup FROM ${unnest}
         JOIN bess_rollups r ON r.device_id = d.device_id AND r.signal = d.signal AND r.t_first >= d.t_from
           AND r.block_no >= d.from_block
         ORDER BY d.i, r.t_first`,
        args,
      );
      return { metas: metas.rows, rollups: rollups.rows };
    });
    const byReader = new Map<number, Buffer[]>();
    for (const r of rows.rollups) {
      let list = byReader.get(Number(r.i));
      if (!list) byReader.set(Number(r.i), (list = []));
      list.push(r.rollup);
    }
    for (const m of rows.metas) {
      const i = Number(m.i);
      const rollups = rollupOf(Buffer.concat(byReader.get(i) ?? []));
      readers[i - 1]!.acceptSummaries(fromBlock[i - 1]!, rollups, describedMeta(m), m.retained_from_page);
    }
  }

  /**
   * The pages not cached yet, in one query for all readers: each reader's pages as runs of
   * consecutive pages, each run one range scan of the primary key (a whole-span history reads
   * a few runs of hundreds of pages, a cell snapshot 520 runs of one or two).
   */
  private async fetchPages(wanted: [PgSignalReader, number][]): Promise<void> {
    const byReader = new Map<PgSignalReader, Set<number>>();
    for (const [reader, p] of wanted) {
      if (!reader.summariesCurrent) continue; // grew since it was planned: its query plans again
      const s = reader.summaries();
      if (this.cache.peek(reader.pageKey(p, s[p * SUMMARY_FIELDS + 5]!))) continue;
      let pages = byReader.get(reader);
      if (!pages) byReader.set(reader, (pages = new Set()));
      pages.add(p);
    }
    const runs: { reader: PgSignalReader; first: number; last: number }[] = [];
    for (const [reader, pages] of byReader) {
      const sorted = [...pages].sort((a, b) => a - b);
      for (let k = 0; k < sorted.length;) {
        let end = k;
        while (end + 1 < sorted.length && sorted[end + 1] === sorted[end]! + 1) end++;
        runs.push({ reader, first: sorted[k]!, last: sorted[end]! });
        k = end + 1;
      }
    }
    if (runs.length === 0) return;
    const startOf = (r: PgSignalReader, p: number): number => r.summaries()[p * SUMMARY_FIELDS]!;
    const rows = await this.sql.query<{
      i: string;
      n: number;
      format: number;
      scale: number;
      t_first: number;
      readings: Buffer;
    }>(
      `SELECT d.i, p.t_first, p.n, p.format, p.scale, p.readings
       FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) WITH ORDINALITY AS d(device_id, signal, t_from, t_to, i)
       JOIN bess_pages p ON p.device_id = d.device_id AND p.signal = d.signal AND p.t_first BETWEEN d.t_from AND d.t_to
       ORDER BY d.i, p.t_first`,
      [
        runs.map((r) => r.reader.deviceId),
        runs.map((r) => r.reader.meta.signal),
        runs.map((r) => startOf(r.reader, r.first)),
        runs.map((r) => startOf(r.reader, r.last)),
      ],
    );
    let run = -1;
    let page = 0;
    for (const row of rows) {
      const k = Number(row.i) - 1;
      if (k !== run) {
        run = k;
        page = runs[k]!.first;
      }
      const { reader } = runs[k]!;
      // A page that is not where the rollups put it belongs to a rewrite this replica has not read yet.
      const p = page++;
      if (row.t_first !== startOf(reader, p)) continue;
      reader.acceptPage(p, decodePage(row.readings, row.n, row.t_first, row.format, row.scale));
    }
  }

  /** Reads what the ingest committed since the last refresh; concurrent calls share one read. */
  refresh(): Promise<DatasetChange> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    const run = async (): Promise<DatasetChange> => {
      try {
        let change: DatasetChange;
        do {
          this.again = false;
          change = await this.readChanges();
        } while (this.again && !this.closed);
        return change;
      } finally {
        this.refreshing = null;
      }
    };
    return (this.refreshing = run());
  }

  private async readChanges(): Promise<DatasetChange> {
    const rows = await this.track(() =>
      this.sql.query<SignalRow>('SELECT * FROM bess_signals WHERE seq > $1 ORDER BY seq', [this.seenSeq]),
    );
    const change: DatasetChange = { devices: new Map(), latest: new Map() };
    if (rows.length === 0) return change;
    const byDevice = new Map<string, SignalRow[]>();
    for (const row of rows) {
      let list = byDevice.get(row.device_id);
      if (!list) byDevice.set(row.device_id, (list = []));
      list.push(row);
    }
    for (const [id, changed] of byDevice) {
      const signals = new Map(this.devicesById.get(id)?.signals);
      for (const row of changed) {
        const known = signals.get(row.signal)?.reader;
        if (row.deleted) signals.delete(row.signal);
        else if (known && known.generation === Number(row.generation))
          known.update(describedMeta(row), row.retained_from_page);
        else {
          const reader = new PgSignalReader(
            id,
            describedMeta(row),
            Number(row.generation),
            this.cache,
            row.retained_from_page,
          );
          signals.set(row.signal, { reader });
        }
      }
      if (signals.size === 0) this.devicesById.delete(id);
      else {
        const sorted = new Map([...signals].sort(([a], [b]) => a.localeCompare(b)));
        const info = deviceInfo(id, sorted);
        this.devicesById.set(id, { id, signals: sorted, info, coverage: new Map(), grids: new Map() });
        if (info.last !== null) change.latest.set(id, info.last);
      }
      change.devices.set(
        id,
        changed.map((r) => r.signal),
      );
    }
    this.seenSeq = Math.max(this.seenSeq, ...rows.map((r) => Number(r.seq)));
    for (const listener of this.listeners) listener(change);
    return change;
  }

  watch(intervalMs: number): () => void {
    const timer = setInterval(() => {
      this.refresh().catch(() => undefined); // an outage is in health(); the next tick retries
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  onChange(listener: (change: DatasetChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  health(): DatasetHealth {
    return {
      problems: [],
      damagedBlocks: 0,
      ...(this.lastError ? { unavailable: { since: this.lastError.at, error: this.lastError.error } } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sql.close();
  }

  /** Notes whether PostgreSQL answered, for health(). */
  private async track<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.lastError = null;
      return result;
    } catch (error) {
      if (error instanceof StoreUnavailableError) this.lastError ??= { at: Date.now(), error: error.message };
      throw error;
    }
  }
}

function describedMeta(row: SignalRow): DescribedMeta {
  return {
    signal: row.signal,
    rows: Number(row.rows),
    first: row.first_ms,
    last: row.last_ms,
    medianPeriodMs: row.median_period_ms,
    staleAfterMs: row.stale_after_ms,
    segments: row.segments,
    gaps: row.gaps,
    quality: row.quality,
  };
}

/** The URL without its password, for logs and `root`. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return 'postgres';
  }
}
