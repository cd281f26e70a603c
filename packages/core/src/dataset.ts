import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ReaderDataset, type RowNeed, type StoredDevice } from './dataset-base.js';
import type { DatasetOptions, DeviceState } from './dataset-state.js';
import { DatasetSync } from './dataset-sync.js';
import { BlockCache, type SignalReader } from './index-format/index.js';
import {
  IndexDamagedError,
  UnknownSignalError,
  type BessDataset,
  type DatasetChange,
  type DatasetHealth,
} from './types.js';

export type { DatasetOptions } from './dataset-state.js';
export { isoTime } from './dataset-base.js';

/** One signal's index as the files store holds it: what a mirror into another store copies. */
export interface IndexedSignal {
  /** A rebuilt index (the file changed other than by an append) is a new object. */
  readonly generation: object;
  readonly reader: SignalReader;
}

/** The files store: everything a `BessDataset` does, plus access to its indexes. */
export interface IndexedBessDataset extends BessDataset {
  /** The current index of one signal. */
  indexedSignal(deviceId: string, signal: string): IndexedSignal;
}

/** Scans and indexes a data root, then serves it. */
export async function openDataset(root: string, options: DatasetOptions = {}): Promise<IndexedBessDataset> {
  const dataset = new IndexedDataset(resolve(root), options);
  dataset.removeStaleTemporaries();
  await dataset.refresh();
  return dataset;
}

class IndexedDataset extends ReaderDataset<SignalReader> implements IndexedBessDataset {
  /** Each cabinet's current state: written by the sync, read by the queries here. */
  private readonly devicesById = new Map<string, DeviceState>();
  private readonly cache: BlockCache;
  private readonly sync: DatasetSync;

  constructor(
    readonly root: string,
    options: DatasetOptions,
  ) {
    super();
    const st = statSync(root, { throwIfNoEntry: false });
    if (!st?.isDirectory()) throw new Error(`data root ${root} is not a directory`);
    this.cache = new BlockCache(options.cacheBytes ?? 64 * 1024 * 1024);
    const indexDir = options.indexDir ?? join(root, '.bess-index');
    this.sync = new DatasetSync(root, indexDir, this.devicesById, this.cache, options, options.log ?? (() => {}));
  }

  protected lookup(deviceId: string): StoredDevice<SignalReader> | undefined {
    return this.devicesById.get(deviceId);
  }

  protected allDevices(): Iterable<StoredDevice<SignalReader>> {
    return this.devicesById.values();
  }

  /** Index rows are read on demand, from the block cache or the disk. */
  protected ensureRows(_needs: RowNeed<SignalReader>[]): Promise<void> {
    return Promise.resolve();
  }

  indexedSignal(deviceId: string, signal: string): IndexedSignal {
    const state = this.state(deviceId).signals.get(signal);
    if (!state) throw new UnknownSignalError(deviceId, String(signal));
    return { generation: state.reader, reader: state.reader };
  }

  protected override warmingPasses(error: unknown): boolean {
    // A damaged index is being rebuilt; the other devices still get warmed.
    return error instanceof IndexDamagedError;
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
}
