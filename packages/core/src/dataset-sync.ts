import { lstatSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { DatasetOptions, DeviceState, SignalState } from './dataset-state.js';
import { deviceInfo } from './dataset-state.js';
import {
  indexPaths,
  removeStaleTemporaries,
  sameSource,
  SignalReader,
  type BlockCache,
  type IndexMeta,
} from './index-format/index.js';
import { discoverDevices, type DiscoveredDevice } from './ingest/discover.js';
import { FolderNotices, type ChangedFiles } from './ingest/notices.js';
import { IndexPool } from './ingest/pool.js';
import { isRegularFile, NotRegularFileError } from './ingest/source-file.js';
import type { DatasetChange, DatasetHealth, IngestProblem } from './types.js';

/** Files checked for changes per event-loop turn during a refresh (a stat each: a batch takes well under a millisecond). */
const STAT_BATCH = 32;

/**
 * The dataset's lifecycle: discovers the cabinets' files, keeps their indexes in step (on worker
 * threads; notices and a periodic check), and publishes each cabinet's new state into `devicesById`,
 * which the query side only reads.
 */
export class DatasetSync {
  private readonly pool: IndexPool;
  private readonly listeners = new Set<(change: DatasetChange) => void>();
  /** The watches running (see watch): each one's notices, which follow the cabinets a full refresh finds. */
  private readonly watches = new Set<{ notices: FolderNotices; stop: () => void }>();
  private refreshing: Promise<DatasetChange> | null = null;
  /** Signal files whose last index attempt failed, by `device/signal`; an attempt that succeeds clears its entry. */
  private readonly problems = new Map<string, IngestProblem>();
  /** Signals whose index was found damaged when read, by `device/signal`: rebuilt from their CSVs. */
  private readonly damaged = new Set<string>();
  private damagedBlocks = 0;

  constructor(
    private readonly root: string,
    private readonly indexDir: string,
    private readonly devicesById: Map<string, DeviceState>,
    private readonly cache: BlockCache,
    private readonly options: DatasetOptions,
    private readonly log: (event: Record<string, unknown>) => void,
  ) {
    this.pool = new IndexPool(options.workers ?? availableParallelism(), options.workerIdleMs, options.jobTimeoutMs);
  }

  refresh(): Promise<DatasetChange> {
    return this.inTurn(() => this.sync());
  }

  /** One refresh at a time: a second caller waits for the one under way, then runs its own. */
  inTurn(run: () => Promise<DatasetChange>): Promise<DatasetChange> {
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

  /**
   * Discovers files and brings every index up to date; only changed files are read. With `only`
   * (from file-change notices), just those files of those cabinets are looked at.
   */
  async sync(only?: ChangedFiles): Promise<DatasetChange> {
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
