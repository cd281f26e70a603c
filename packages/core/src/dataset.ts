import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { valuesAsOf } from './align/as-of.js';
import { downsampleReader } from './align/downsample.js';
import { clipSegments, RecordGrid, unionSegments } from './align/grid.js';
import { RECORD_SIGNALS, type RecordByKind, type RecordKind } from './catalog.js';
import type { DatasetOptions, DeviceState } from './dataset-state.js';
import { DatasetSync } from './dataset-sync.js';
import { BlockCache, type SignalReader } from './index-format/index.js';
import {
  BessError,
  IndexDamagedError,
  UnknownDeviceError,
  UnknownSignalError,
  type BessDataset,
  type BucketSeries,
  type DatasetChange,
  type DatasetHealth,
  type DeviceInfo,
  type Page,
  type PageQuery,
  type Series,
} from './types.js';

const MAX_PAGE = 10_000;
const MIN_STEP_MS = 1_000;
const MAX_STEP_MS = 366 * 86_400_000;
const GRID_CACHE = 32;
const DEFAULT_MAX_ROWS = 100_000;
/** Records warm() prepares at each end of a device's grid: a dashboard's first page. */
const WARM_ROWS = 100;

export type { DatasetOptions } from './dataset-state.js';

/** Scans and indexes a data root, then serves it. */
export async function openDataset(root: string, options: DatasetOptions = {}): Promise<BessDataset> {
  const dataset = new IndexedDataset(resolve(root), options);
  dataset.removeStaleTemporaries();
  await dataset.refresh();
  return dataset;
}

class IndexedDataset implements BessDataset {
  /** Each cabinet's current state: written by the sync, read by the queries here. */
  private readonly devicesById = new Map<string, DeviceState>();
  private readonly cache: BlockCache;
  private readonly sync: DatasetSync;

  constructor(
    readonly root: string,
    options: DatasetOptions,
  ) {
    const st = statSync(root, { throwIfNoEntry: false });
    if (!st?.isDirectory()) throw new Error(`data root ${root} is not a directory`);
    this.cache = new BlockCache(options.cacheBytes ?? 64 * 1024 * 1024);
    const indexDir = options.indexDir ?? join(root, '.bess-index');
    this.sync = new DatasetSync(root, indexDir, this.devicesById, this.cache, options, options.log ?? (() => {}));
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

  async page<K extends RecordKind>(deviceId: string, kind: K, query: PageQuery): Promise<Page<K>> {
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
    return this.sync.refresh();
  }

  watch(intervalMs: number): () => void {
    return this.sync.watch(intervalMs);
  }

  onChange(listener: (change: DatasetChange) => void): () => void {
    return this.sync.onChange(listener);
  }

  get indexWorkers(): number {
    return this.sync.indexWorkers;
  }

  /** Leftovers of a process killed while writing an index (kill -9, power cut). */
  removeStaleTemporaries(): void {
    this.sync.removeStaleTemporaries();
  }

  health(): DatasetHealth {
    return this.sync.health();
  }

  close(): Promise<void> {
    return this.sync.close();
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
        const readers = RECORD_SIGNALS[kind].flatMap((spec) => {
          const s = device.signals.get(spec.signal);
          return s ? [s.reader] : [];
        });
        const newest = Math.max(...readers.map((r) => r.meta.last ?? -Infinity));
        coverage = clipSegments(unionSegments(readers.map((r) => r.meta.segments)), newest);
        device.coverage.set(kind, coverage);
      }
      grid = new RecordGrid(coverage, stepMs, from, to);
      if (device.grids.size >= GRID_CACHE) device.grids.delete(device.grids.keys().next().value!);
      device.grids.set(key, grid);
    }
    return grid;
  }

  private records<K extends RecordKind>(device: DeviceState, kind: K, times: number[]): RecordByKind[K][] {
    const records: Record<string, string | number | null>[] = times.map((t) => ({ timestamp: isoTime(t) }));
    for (const spec of RECORD_SIGNALS[kind]) {
      const s = device.signals.get(spec.signal);
      const values = s ? valuesAsOf(s.reader, times, s.reader.meta.staleAfterMs) : null;
      for (let k = 0; k < records.length; k++) records[k]![spec.field] = values ? values[k]! : null;
    }
    // Every field of the kind's catalogue entries was set just above.
    return records as RecordByKind[K][];
  }
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
