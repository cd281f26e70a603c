import { lstatSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { valuesAsOf } from './align/as-of.js';
import { downsampleReader } from './align/downsample.js';
import { RecordGrid, unionSegments } from './align/grid.js';
import {
  BMS_SIGNALS,
  describeSignal,
  PCS_SIGNALS,
  parseCellSignal,
  RECORD_SIGNALS,
  type RecordKind,
} from './catalog.js';
import { discoverDevices, type DiscoveredDevice } from './ingest/discover.js';
import { indexPaths, removeStaleTemporaries, sameSource, type IndexMeta } from './ingest/index-store.js';
import { isRegularFile, NotRegularFileError } from './ingest/source-file.js';
import { coverageOf } from './ingest/stats.js';
import { FolderNotices, type ChangedFiles } from './ingest/notices.js';
import { IndexPool } from './ingest/pool.js';
import { BlockCache, SignalReader } from './store/signal-reader.js';
import {
  BessError,
  IndexDamagedError,
  UnknownDeviceError,
  UnknownSignalError,
  type AlignedRecord,
  type BessDataset,
  type BucketSeries,
  type DatasetChange,
  type DatasetHealth,
  type IngestProblem,
  type DeviceInfo,
  type OpenOptions,
  type Page,
  type PageQuery,
  type Series,
  type SignalInfo,
} from './types.js';

export interface DatasetOptions extends OpenOptions {
  /** Memory for cached index blocks (bytes); default 64 MiB. */
  cacheBytes?: number;
  /** Offset of zone-less timestamps from UTC (ms); default 0. */
  utcOffsetMs?: number;
}

interface SignalState {
  csvPath: string;
  reader: SignalReader;
}

interface DeviceState {
  id: string;
  signals: Map<string, SignalState>;
  info: DeviceInfo;
  coverage: Map<RecordKind, number[]>;
  grids: Map<string, RecordGrid>;
}

const MAX_PAGE = 10_000;
const MIN_STEP_MS = 1_000;
const MAX_STEP_MS = 366 * 86_400_000;
const GRID_CACHE = 32;
const DEFAULT_MAX_ROWS = 100_000;
/** Records warm() prepares at each end of a device's grid: a dashboard's first page. */
const WARM_ROWS = 100;
/** Files checked for changes per event-loop turn during a refresh (a stat each: a batch takes well under a millisecond). */
const STAT_BATCH = 32;

/** Scans and indexes a data root, then serves it. */
export async function openDataset(root: string, options: DatasetOptions = {}): Promise<BessDataset> {
  const dataset = new IndexedDataset(resolve(root), options);
  dataset.removeStaleTemporaries();
  await dataset.refresh();
  return dataset;
}

class IndexedDataset implements BessDataset {
  private readonly devicesById = new Map<string, DeviceState>();
  private readonly indexDir: string;
  private readonly pool: IndexPool;
  private readonly cache: BlockCache;
  private readonly listeners = new Set<(change: DatasetChange) => void>();
  /** The watches running (see watch): each one's notices, which follow the cabinets a full refresh finds. */
  private readonly watches = new Set<{ notices: FolderNotices; stop: () => void }>();
  private refreshing: Promise<DatasetChange> | null = null;
  /** Signal files whose last index attempt failed, by `device/signal`; an attempt that succeeds clears its entry. */
  private readonly problems = new Map<string, IngestProblem>();
  /** Signals whose index was found damaged when read, by `device/signal`: rebuilt from their CSVs. */
  private readonly damaged = new Set<string>();
  private damagedBlocks = 0;
  private readonly log: (event: Record<string, unknown>) => void;

  constructor(
    readonly root: string,
    private readonly options: DatasetOptions,
  ) {
    const st = statSync(root, { throwIfNoEntry: false });
    if (!st?.isDirectory()) throw new Error(`data root ${root} is not a directory`);
    this.indexDir = options.indexDir ?? join(root, '.bess-index');
    this.pool = new IndexPool(options.workers ?? availableParallelism(), options.workerIdleMs, options.jobTimeoutMs);
    this.cache = new BlockCache(options.cacheBytes ?? 64 * 1024 * 1024);
    this.log = options.log ?? (() => {});
  }

  devices(): DeviceInfo[] {
    // In name order, whichever device a refresh finished first (they are checked side by side).
    return [...this.devicesById.values()].map((d) => d.info).sort((a, b) => a.id.localeCompare(b.id));
  }

  device(deviceId: string): DeviceInfo {
    return this.state(deviceId).info;
  }

  defaultStepMs(deviceId: string, kind: RecordKind): number {
    const device = this.state(deviceId);
    let fastest = Infinity;
    for (const spec of RECORD_SIGNALS[kind]) {
      const period = device.signals.get(spec.signal)?.reader.meta.medianPeriodMs;
      if (period != null && period < fastest) fastest = period;
    }
    if (!Number.isFinite(fastest)) return 60_000;
    return Math.max(MIN_STEP_MS, Math.round(fastest / 1000) * 1000);
  }

  async page(deviceId: string, kind: RecordKind, query: PageQuery): Promise<Page> {
    const device = this.state(deviceId);
    checkInteger('skip', query.skip, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('limit', query.limit, 1, MAX_PAGE);
    checkRange(query.from, query.to);
    const stepMs = query.stepMs ?? this.defaultStepMs(deviceId, kind);
    checkInteger('step', stepMs, MIN_STEP_MS, MAX_STEP_MS);
    const grid = this.grid(device, kind, stepMs, query.from, query.to);
    const times = grid.times(query.skip, query.limit);
    return {
      deviceId,
      kind,
      total: grid.total,
      skip: query.skip,
      stepMs,
      records: this.records(device, kind, times),
    };
  }

  positionOf(deviceId: string, kind: RecordKind, t: number, stepMs?: number): number {
    const device = this.state(deviceId);
    checkFinite('from', t);
    const step = stepMs ?? this.defaultStepMs(deviceId, kind);
    checkInteger('step', step, MIN_STEP_MS, MAX_STEP_MS);
    return this.grid(device, kind, step).positionOf(t);
  }

  async readSignal(
    deviceId: string,
    signal: string,
    from: number,
    to: number,
    maxRows = DEFAULT_MAX_ROWS,
  ): Promise<Series> {
    const reader = this.reader(deviceId, signal);
    checkRange(from, to);
    const first = reader.indexAtOrAfter(from);
    const last = reader.indexAtOrBefore(to);
    const count = Math.max(0, last - first + 1);
    if (count > maxRows) {
      throw new BessError(
        'BAD_REQUEST',
        `range holds ${count} readings, more than ${maxRows}; narrow it or downsample`,
        'to',
      );
    }
    return reader.copyRows(first, count);
  }

  async valueAt(deviceId: string, signal: string, t: number): Promise<{ t: number; v: number } | null> {
    const reader = this.reader(deviceId, signal);
    checkFinite('at', t);
    const i = reader.indexAtOrBefore(t);
    return i < 0 ? null : { t: reader.time(i), v: reader.value(i) };
  }

  async downsample(
    deviceId: string,
    signal: string,
    from: number,
    to: number,
    maxPoints: number,
  ): Promise<BucketSeries> {
    const reader = this.reader(deviceId, signal);
    checkRange(from, to);
    checkFinite('from', from);
    checkFinite('to', to);
    checkInteger('maxPoints', maxPoints, 1, 100_000);
    return downsampleReader(reader, from, to, maxPoints);
  }

  async warm(): Promise<void> {
    for (const device of [...this.devicesById.values()]) {
      for (const kind of ['bms', 'pcs'] as const) {
        await new Promise((resolve) => setImmediate(resolve)); // requests go first
        if (!this.devicesById.has(device.info.id)) continue; // gone meanwhile
        const grid = this.grid(device, kind, this.defaultStepMs(device.info.id, kind));
        if (grid.total === 0) continue;
        try {
          this.records(device, kind, grid.times(0, WARM_ROWS));
          this.records(device, kind, grid.times(Math.max(0, grid.total - WARM_ROWS), WARM_ROWS));
        } catch (error) {
          // A damaged index is being rebuilt (IndexDamagedError); the other devices still get warmed.
          if (!(error instanceof IndexDamagedError)) throw error;
        }
      }
    }
  }

  refresh(): Promise<DatasetChange> {
    return this.inTurn(() => this.sync());
  }

  /** One refresh at a time: a second caller waits for the one under way, then runs its own. */
  private inTurn(run: () => Promise<DatasetChange>): Promise<DatasetChange> {
    const next = (this.refreshing ?? Promise.resolve()).then(run);
    const tracked = next.finally(() => {
      if (this.refreshing === tracked) this.refreshing = null;
    });
    this.refreshing = tracked;
    return tracked;
  }

  /**
   * Follows the files: file-change notifications bring a changed file in within about 0.1 s
   * (only the files named are looked at), and a full check every `intervalMs` catches whatever
   * they miss (platforms that cannot notify, files replaced under another name).
   */
  watch(intervalMs: number): () => void {
    const logged = (refresh: Promise<DatasetChange>): void => {
      refresh.catch((error: unknown) => this.log({ event: 'refresh_failed', error: String(error) }));
    };
    const timer = setInterval(() => logged(this.refresh()), intervalMs);
    timer.unref();
    const notices = new FolderNotices(
      this.root,
      (files, foldersChanged) => logged(foldersChanged ? this.refresh() : this.inTurn(() => this.sync(files))),
      this.log,
    );
    notices.follow(this.devicesById.keys());
    const running = {
      notices,
      stop: (): void => {
        clearInterval(timer);
        notices.close();
        this.watches.delete(running);
      },
    };
    this.watches.add(running);
    return running.stop;
  }

  onChange(listener: (change: DatasetChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get indexWorkers(): number {
    return this.pool.running;
  }

  /** Leftovers of a process killed while writing an index (kill -9, power cut). */
  removeStaleTemporaries(): void {
    const removed = removeStaleTemporaries(this.indexDir);
    if (removed > 0) this.log({ event: 'stale_temporaries_removed', files: removed });
  }

  health(): DatasetHealth {
    return { problems: [...this.problems.values()], damagedBlocks: this.damagedBlocks };
  }

  async close(): Promise<void> {
    for (const watch of [...this.watches]) watch.stop();
    this.listeners.clear();
    await this.refreshing?.catch(() => undefined);
    await this.pool.close();
    for (const device of this.devicesById.values()) for (const s of device.signals.values()) s.reader.release();
  }

  private state(deviceId: string): DeviceState {
    const device = typeof deviceId === 'string' ? this.devicesById.get(deviceId) : undefined;
    if (!device) throw new UnknownDeviceError(String(deviceId));
    return device;
  }

  private reader(deviceId: string, signal: string): SignalReader {
    const state = this.state(deviceId).signals.get(signal);
    if (!state) throw new UnknownSignalError(deviceId, String(signal));
    return state.reader;
  }

  private grid(device: DeviceState, kind: RecordKind, stepMs: number, from?: number, to?: number): RecordGrid {
    const key = `${kind}:${stepMs}:${from ?? ''}:${to ?? ''}`;
    let grid = device.grids.get(key);
    if (!grid) {
      let coverage = device.coverage.get(kind);
      if (!coverage) {
        coverage = unionSegments(
          RECORD_SIGNALS[kind].flatMap((spec) => {
            const s = device.signals.get(spec.signal);
            return s ? [s.reader.meta.segments] : [];
          }),
        );
        device.coverage.set(kind, coverage);
      }
      grid = new RecordGrid(coverage, stepMs, from, to);
      if (device.grids.size >= GRID_CACHE) device.grids.delete(device.grids.keys().next().value!);
      device.grids.set(key, grid);
    }
    return grid;
  }

  private records(device: DeviceState, kind: RecordKind, times: number[]): AlignedRecord[] {
    const records: AlignedRecord[] = times.map((t) => ({ timestamp: isoTime(t) }));
    for (const spec of RECORD_SIGNALS[kind]) {
      const s = device.signals.get(spec.signal);
      const values = s ? valuesAsOf(s.reader, times, s.reader.meta.staleAfterMs) : null;
      for (let k = 0; k < records.length; k++) records[k]![spec.field!] = values ? values[k]! : null;
    }
    return records;
  }

  /**
   * Discovers files and brings every index up to date; only changed files are read. With `only`
   * (from file-change notices), just those files of those cabinets are looked at.
   */
  private async sync(only?: ChangedFiles): Promise<DatasetChange> {
    const started = Date.now();
    const discovered = only ? this.noticedFolders(only) : await discoverDevices(this.root);
    const change: DatasetChange = { devices: new Map(), latest: new Map() };
    const counts = { built: 0, appended: 0, reused: 0, failed: 0, bytes: 0 };
    const seen = new Set<string>();

    await Promise.all(
      discovered.map(async (found) => {
        seen.add(found.id);
        for (const [signal, what] of found.refused)
          this.noteProblem(found.id, signal, new NotRegularFileError(join(found.dir, `${signal}.csv`), what));
        const changed = await this.syncDevice(found, counts, only?.get(found.id));
        if (changed.length > 0) {
          change.devices.set(found.id, changed);
          const last = this.devicesById.get(found.id)?.info.last;
          if (last != null) change.latest.set(found.id, last);
        }
      }),
    );
    if (!only) {
      for (const id of [...this.devicesById.keys()]) if (!seen.has(id)) this.devicesById.delete(id);
      // Problems of files that are gone went with them.
      for (const [key, problem] of this.problems) {
        const found = discovered.find((d) => d.id === problem.deviceId);
        if (!found?.files.has(problem.signal) && !found?.refused.has(problem.signal)) this.problems.delete(key);
      }
      for (const watch of this.watches) watch.notices.follow(this.devicesById.keys());
    }

    if (counts.built + counts.appended + counts.failed > 0) {
      this.log({ event: 'index_sync', devices: discovered.length, ...counts, ms: Date.now() - started });
    }
    if (change.devices.size > 0) for (const listener of this.listeners) listener(change);
    return change;
  }

  private openReader(deviceId: string, signal: string, meta: IndexMeta): SignalReader {
    return new SignalReader(indexPaths(this.indexDir, deviceId, signal).bin, meta, this.cache, () =>
      this.rebuildDamaged(deviceId, signal),
    );
  }

  /** An index read back wrong: it is rebuilt from its CSV, and its readings are served again once that is done. */
  private rebuildDamaged(deviceId: string, signal: string): void {
    const key = `${deviceId}/${signal}`;
    this.damagedBlocks++;
    if (this.damaged.has(key)) return;
    this.damaged.add(key);
    this.log({ event: 'index_damaged', level: 'error', device: deviceId, signal });
    const rebuild = this.inTurn(() => this.sync(new Map([[deviceId, new Set([signal])]])));
    rebuild.catch((error: unknown) => this.log({ event: 'refresh_failed', level: 'error', error: String(error) }));
  }

  /** Records a failed index attempt; logged when it is new or its cause changed, not on every retry. */
  private noteProblem(deviceId: string, signal: string, error: unknown): void {
    // Errors from worker threads arrive as text (their stack): the name says what they were.
    const firstLine = String(error).split('\n', 1)[0]!;
    const kind = /NotRegularFileError/.test(firstLine) ? 'refused' : 'failed';
    const key = `${deviceId}/${signal}`;
    const before = this.problems.get(key);
    const problem: IngestProblem = { deviceId, signal, kind, error: firstLine.slice(0, 300), at: Date.now() };
    this.problems.set(key, problem);
    if (before?.error !== problem.error)
      this.log({
        event: kind === 'refused' ? 'file_refused' : 'index_failed',
        level: kind === 'refused' ? 'warn' : 'error',
        device: deviceId,
        signal,
        error: firstLine,
      });
  }

  /** The noticed cabinets as discovery would list them: their files, with the noticed ones added or dropped as they exist or not. */
  private noticedFolders(only: ChangedFiles): DiscoveredDevice[] {
    const found: DiscoveredDevice[] = [];
    for (const [id, signals] of only) {
      const device = this.devicesById.get(id);
      if (!device) continue; // a new cabinet comes with a folder notice, and a full refresh
      const dir = join(this.root, id);
      const files = new Map([...device.signals].map(([signal, state]) => [signal, state.csvPath]));
      for (const signal of signals) {
        const path = join(dir, `${signal}.csv`);
        // As discovery lists files: regular files only, never a link, pipe or device.
        if (isRegularFile(path)) files.set(signal, path);
        else files.delete(signal); // gone, as a full refresh would find it
      }
      found.push({ id, dir, files, refused: new Map() });
    }
    return found;
  }

  /** Brings one cabinet's indexes up to date; with `only`, the other files are taken as unchanged without a look. */
  private async syncDevice(
    found: DiscoveredDevice,
    counts: Record<string, number>,
    only?: ReadonlySet<string>,
  ): Promise<string[]> {
    const previous = this.devicesById.get(found.id);
    const signals = new Map<string, SignalState>();
    const changed: string[] = [];
    // Which files changed: a stat each, a batch per event-loop turn. A server re-checks every
    // file from time to time (watch): the full set's 1,773 stats in one go held its loop for 18-43 ms.
    const stale: [string, string][] = [];
    let checked = 0;
    for (const [signal, csvPath] of found.files) {
      const known = previous?.signals.get(signal);
      const looked = !known || !only || only.has(signal);
      if (looked && ++checked % STAT_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
      const damaged = this.damaged.has(`${found.id}/${signal}`);
      if (known && !damaged && (!looked || unchanged(csvPath, known.reader.meta))) {
        signals.set(signal, known);
        counts.reused!++;
      } else {
        stale.push([signal, csvPath]);
      }
    }
    await Promise.all(
      stale.map(async ([signal, csvPath]) => {
        const known = previous?.signals.get(signal);
        try {
          const key = `${found.id}/${signal}`;
          const rebuild = this.damaged.has(key);
          const outcome = await this.pool.run({
            csvPath,
            indexDir: this.indexDir,
            deviceId: found.id,
            signal,
            utcOffsetMs: this.options.utcOffsetMs ?? 0,
            ...(rebuild ? { rebuild } : {}),
          });
          if (rebuild) this.damaged.delete(key);
          counts[outcome.action]!++;
          counts.bytes! += outcome.bytesRead;
          if (known && outcome.action === 'appended' && !rebuild) {
            known.reader.meta = outcome.meta;
            signals.set(signal, known);
          } else {
            known?.reader.release();
            signals.set(signal, { csvPath, reader: this.openReader(found.id, signal, outcome.meta) });
          }
          if (outcome.action !== 'reused' || !known) changed.push(signal);
          this.problems.delete(`${found.id}/${signal}`);
        } catch (error) {
          // A file deleted or unreadable mid-index: keep serving what we had, retry next refresh.
          counts.failed!++;
          this.noteProblem(found.id, signal, error);
          if (known) signals.set(signal, known);
        }
      }),
    );
    if (previous) for (const signal of previous.signals.keys()) if (!signals.has(signal)) changed.push(signal);
    if (previous && changed.length === 0) return changed;
    const sorted = new Map([...signals].sort(([a], [b]) => a.localeCompare(b)));
    this.devicesById.set(found.id, {
      id: found.id,
      signals: sorted,
      info: deviceInfo(found.id, sorted),
      coverage: new Map(),
      grids: new Map(),
    });
    return changed;
  }
}

function unchanged(csvPath: string, meta: IndexMeta): boolean {
  const st = lstatSync(csvPath, { throwIfNoEntry: false });
  return !!st && st.isFile() && sameSource(meta.source, st);
}

function deviceInfo(id: string, signals: Map<string, SignalState>): DeviceInfo {
  const infos: SignalInfo[] = [];
  let first: number | null = null;
  let last: number | null = null;
  for (const [signal, state] of signals) {
    const meta = state.reader.meta;
    infos.push({
      signal,
      spec: describeSignal(signal),
      rows: meta.rows,
      first: meta.first,
      last: meta.last,
      medianPeriodMs: meta.medianPeriodMs,
      staleAfterMs: meta.staleAfterMs,
      coverage: coverageOf(meta.segments, meta.first, meta.last),
      gaps: meta.gaps,
      quality: meta.quality,
    });
    if (meta.first !== null && (first === null || meta.first < first)) first = meta.first;
    if (meta.last !== null && (last === null || meta.last > last)) last = meta.last;
  }
  return {
    id,
    first,
    last,
    signals: infos,
    hasBms: BMS_SIGNALS.some((s) => signals.has(s.signal)),
    hasPcs: PCS_SIGNALS.some((s) => signals.has(s.signal)),
    hasCells: [...signals.keys()].some((s) => parseCellSignal(s) !== undefined),
  };
}

/** ISO time as the seed printed it: whole seconds without a fraction. */
export function isoTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BessError('BAD_REQUEST', `${field} must be an integer from ${min} to ${max}`, field);
  }
}

function checkFinite(field: string, value: number): void {
  if (!Number.isFinite(value)) throw new BessError('BAD_REQUEST', `${field} must be a finite time`, field);
}

function checkRange(from?: number, to?: number): void {
  if (from !== undefined && Number.isNaN(from)) throw new BessError('BAD_REQUEST', 'from is not a time', 'from');
  if (to !== undefined && Number.isNaN(to)) throw new BessError('BAD_REQUEST', 'to is not a time', 'to');
  if (from !== undefined && to !== undefined && from > to)
    throw new BessError('BAD_REQUEST', 'from is after to', 'from');
}
