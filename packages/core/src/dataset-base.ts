import { valuesAsOf } from './align/as-of.js';
import { bucketWidth, downsampleReader } from './align/downsample.js';
import { clipSegments, RecordGrid, unionSegments } from './align/grid.js';
import { RECORD_SIGNALS, type RecordByKind, type RecordKind } from './catalog.js';
import type { RowSource } from './index-format/index.js';
import {
  BessError,
  UnknownDeviceError,
  UnknownSignalError,
  type BucketSeries,
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
/** Records a store's warm() prepares at each end of a device's grid: a dashboard's first page. */
export const WARM_ROWS = 100;

/** One cabinet as a store serves it; replaced whole when a sync changes any of its signals. */
export interface StoredDevice<R extends RowSource = RowSource> {
  id: string;
  signals: Map<string, { reader: R }>;
  info: DeviceInfo;
  coverage: Map<RecordKind, number[]>;
  grids: Map<string, RecordGrid>;
}

/**
 * Which rows a query is about to read of one signal, told to the store before the (synchronous)
 * alignment and downsampling code runs: the PostgreSQL store fetches exactly those pages.
 */
export type RowNeed<R extends RowSource = RowSource> =
  | { reader: R; kind: 'asOf'; times: readonly number[] }
  | { reader: R; kind: 'range'; from: number; to: number }
  | { reader: R; kind: 'downsample'; from: number; to: number; bucketMs: number };

/**
 * A row source was asked for a page the store has not fetched (or has since evicted): the
 * query fetches its rows again. Only stores that fetch ahead throw it.
 */
export class RowsNotReadyError extends Error {
  constructor(signal: string, page: number) {
    super(`page ${page} of ${signal} is not fetched`);
    this.name = 'RowsNotReadyError';
  }
}

/** Fetch-and-compute rounds before a query gives up on rows evicted under it. */
const ROW_ATTEMPTS = 3;

/**
 * The queries of a dataset, written once over row sources: the files store and the PostgreSQL
 * store differ only in where rows come from, so they answer alike by construction.
 */
export abstract class ReaderDataset<R extends RowSource> {
  /** The cabinet's current state, or undefined when the store has no such cabinet. */
  protected abstract lookup(deviceId: string): StoredDevice<R> | undefined;
  /** Every cabinet, in any order. */
  protected abstract allDevices(): Iterable<StoredDevice<R>>;
  /** Makes the rows `needs` name readable synchronously (no-op where they already are). */
  protected abstract ensureRows(needs: RowNeed<R>[]): Promise<void>;

  devices(): DeviceInfo[] {
    // In name order, whichever device a refresh finished first (they are checked side by side).
    return [...this.allDevices()].map((d) => d.info).sort((a, b) => a.id.localeCompare(b.id));
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
    const records = await this.withRows(this.recordNeeds(device, kind, times), () => this.records(device, kind, times));
    return { deviceId, kind, total: grid.total, skip: query.skip, stepMs, records };
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
    // The pages at both ends first: the range's size is known, and refused when too large, before its rows are read.
    const [first, last] = await this.withRows([{ reader, kind: 'asOf', times: [from, to] }], () => [
      reader.indexAtOrAfter(from),
      reader.indexAtOrBefore(to),
    ]);
    const count = Math.max(0, last - first + 1);
    if (count > maxRows) {
      throw new BessError(
        'BAD_REQUEST',
        `range holds ${count} readings, more than ${maxRows}; narrow it or downsample`,
        'to',
      );
    }
    return this.withRows([{ reader, kind: 'range', from, to }], () => reader.copyRows(first, count));
  }

  async valueAt(deviceId: string, signal: string, t: number): Promise<{ t: number; v: number } | null> {
    const reader = this.reader(deviceId, signal);
    checkFinite('at', t);
    return this.withRows([{ reader, kind: 'asOf', times: [t] }], () => {
      const i = reader.indexAtOrBefore(t);
      return i < 0 ? null : { t: reader.time(i), v: reader.value(i) };
    });
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
    const bucketMs = bucketWidth(from, to, maxPoints);
    return this.withRows([{ reader, kind: 'downsample', from, to, bucketMs }], () =>
      downsampleReader(reader, from, to, maxPoints),
    );
  }

  /**
   * Reads each device's first and last `WARM_ROWS` records of both kinds, so a dashboard's first
   * pages are served from memory. Yields to requests between devices and kinds.
   */
  async warm(): Promise<void> {
    for (const { id } of [...this.allDevices()]) {
      for (const kind of ['bms', 'pcs'] as const) {
        await new Promise((resolve) => setImmediate(resolve)); // requests go first
        const device = this.lookup(id);
        if (!device) continue; // gone meanwhile
        const grid = this.grid(device, kind, this.defaultStepMs(id, kind));
        if (grid.total === 0) continue;
        for (const skip of [0, Math.max(0, grid.total - WARM_ROWS)]) {
          const times = grid.times(skip, WARM_ROWS);
          try {
            await this.withRows(this.recordNeeds(device, kind, times), () => this.records(device, kind, times));
          } catch (error) {
            if (!this.warmingPasses(error)) throw error;
          }
        }
      }
    }
  }

  /** Whether warming goes on past this error (the files store: an index being rebuilt). */
  protected warmingPasses(_error: unknown): boolean {
    return false;
  }

  /** `compute` over rows made readable first; again when some were evicted before it ran. */
  protected async withRows<T>(needs: RowNeed<R>[], compute: () => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.ensureRows(needs);
      try {
        return compute();
      } catch (error) {
        if (!(error instanceof RowsNotReadyError) || attempt >= ROW_ATTEMPTS) throw error;
      }
    }
  }

  protected state(deviceId: string): StoredDevice<R> {
    const device = typeof deviceId === 'string' ? this.lookup(deviceId) : undefined;
    if (!device) throw new UnknownDeviceError(String(deviceId));
    return device;
  }

  private reader(deviceId: string, signal: string): R {
    const state = this.state(deviceId).signals.get(signal);
    if (!state) throw new UnknownSignalError(deviceId, String(signal));
    return state.reader;
  }

  protected grid(device: StoredDevice<R>, kind: RecordKind, stepMs: number, from?: number, to?: number): RecordGrid {
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

  protected recordNeeds(device: StoredDevice<R>, kind: RecordKind, times: readonly number[]): RowNeed<R>[] {
    if (times.length === 0) return [];
    return RECORD_SIGNALS[kind].flatMap((spec) => {
      const s = device.signals.get(spec.signal);
      return s ? [{ reader: s.reader, kind: 'asOf' as const, times }] : [];
    });
  }

  protected records<K extends RecordKind>(device: StoredDevice<R>, kind: K, times: number[]): RecordByKind[K][] {
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
