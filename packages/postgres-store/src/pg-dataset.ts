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
import { decodePage } from './page-codec.js';
import { PgSignalReader } from './pg-reader.js';
import { migrate } from './schema.js';
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
}

/** Records warm() prepares at each end of a device's grid: a dashboard's first page. */
const WARM_ROWS = 100;

/** Serves the dataset interface from the PostgreSQL store (see docs/postgres-store.md). */
export async function openPostgresDataset(url: string, options: PostgresDatasetOptions = {}): Promise<PostgresDataset> {
  const sql = new Sql(url, options.connections ?? 8);
  try {
    await migrate(sql);
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
      await this.loadSummaries([...new Set(needs.map((n) => n.reader))].filter((r) => !r.summariesCurrent));
      const wanted = new Map<PgSignalReader, Set<number>>();
      for (const need of needs) {
        if (!need.reader.summariesCurrent) {
          // Rewritten (or removed) since this replica last looked: learn of it; the query retries.
          void this.refresh().catch(() => undefined);
          continue;
        }
        let pages = wanted.get(need.reader);
        if (!pages) wanted.set(need.reader, (pages = new Set()));
        need.reader.pagesFor(need, pages);
      }
      await this.fetchPages(wanted);
    });
  }

  /** Each reader's rollups (from its last partial page on) and the metadata of the same snapshot. */
  private async loadSummaries(readers: PgSignalReader[]): Promise<void> {
    if (readers.length === 0) return;
    const from = readers.map((r) => r.reloadFrom);
    const fromTime = readers.map((r) => (r.reloadFrom === 0 ? '-Infinity' : r.reloadFromTime));
    const rows = await this.sql.transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const args = [
        readers.map((r) => r.deviceId),
        readers.map((r) => r.meta.signal),
        readers.map((r) => r.generation),
        fromTime,
      ];
      const metas = await client.query<SignalRow & { i: string }>(
        `SELECT d.i, s.* FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[]) WITH ORDINALITY AS d(device_id, signal, generation, t_from, i)
         JOIN bess_signals s ON s.device_id = d.device_id AND s.signal = d.signal AND s.generation = d.generation
         WHERE NOT s.deleted`,
        args,
      );
      const pages = await client.query<{
        i: string;
        t_first: number;
        t_last: number;
        vmin: number;
        vmax: number;
        vsum: number;
        n: number;
      }>(
        `SELECT d.i, p.t_first, p.t_last, p.vmin, p.vmax, p.vsum, p.n
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[]) WITH ORDINALITY AS d(device_id, signal, generation, t_from, i)
         JOIN bess_pages p ON p.device_id = d.device_id AND p.signal = d.signal AND p.t_first >= d.t_from
         ORDER BY d.i, p.t_first`,
        args,
      );
      return { metas: metas.rows, pages: pages.rows };
    });
    const byReader = new Map<number, number[]>();
    for (const p of rows.pages) {
      let list = byReader.get(Number(p.i));
      if (!list) byReader.set(Number(p.i), (list = []));
      list.push(p.t_first, p.t_last, p.vmin, p.vmax, p.vsum, p.n);
    }
    for (const m of rows.metas) {
      const i = Number(m.i);
      const reader = readers[i - 1]!;
      reader.acceptSummaries(from[i - 1]!, new Float64Array(byReader.get(i) ?? []), describedMeta(m));
    }
  }

  /** The pages not cached yet, in one query for all readers. */
  private async fetchPages(wanted: Map<PgSignalReader, Set<number>>): Promise<void> {
    const readers: PgSignalReader[] = [];
    const pageNos: number[] = [];
    const tFirsts: number[] = [];
    for (const [reader, pages] of wanted) {
      const s = reader.summaries();
      for (const p of pages) {
        if (this.cache.peek(reader.pageKey(p, s[p * SUMMARY_FIELDS + 5]!))) continue;
        readers.push(reader);
        pageNos.push(p);
        tFirsts.push(s[p * SUMMARY_FIELDS]!);
      }
    }
    if (readers.length === 0) return;
    const rows = await this.sql.query<{ i: string; n: number; format: number; scale: number; readings: Buffer }>(
      `SELECT d.i, p.n, p.format, p.scale, p.readings
       FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS d(device_id, signal, t_first, i)
       JOIN bess_pages p ON p.device_id = d.device_id AND p.signal = d.signal AND p.t_first = d.t_first`,
      [readers.map((r) => r.deviceId), readers.map((r) => r.meta.signal), tFirsts],
    );
    for (const row of rows) {
      const k = Number(row.i) - 1;
      const rowsOf = decodePage(row.readings, row.n, tFirsts[k]!, row.format, row.scale);
      readers[k]!.acceptPage(pageNos[k]!, rowsOf);
    }
  }

  async warm(): Promise<void> {
    for (const device of [...this.devicesById.values()]) {
      for (const kind of ['bms', 'pcs'] as const) {
        if (!this.devicesById.has(device.id)) continue;
        const grid = this.grid(device, kind, this.defaultStepMs(device.id, kind));
        if (grid.total === 0) continue;
        await this.page(device.id, kind, { skip: 0, limit: WARM_ROWS });
        await this.page(device.id, kind, { skip: Math.max(0, grid.total - WARM_ROWS), limit: WARM_ROWS });
      }
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
        else if (known && known.generation === Number(row.generation)) known.meta = describedMeta(row);
        else {
          signals.set(row.signal, {
            reader: new PgSignalReader(id, describedMeta(row), Number(row.generation), this.cache),
          });
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
