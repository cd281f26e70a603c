import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_ID, SIGNAL_NAME } from './discover.js';

/** How long notices gather before they are handed over together: one append is often several writes. */
const NOTICE_DELAY_MS = 100;

/** Signal files that changed, by cabinet. */
export type ChangedFiles = Map<string, Set<string>>;

/**
 * File-change notifications (inotify on Linux) for a data root: which signal files of which
 * cabinet changed, gathered for NOTICE_DELAY_MS and handed over together, and whether a cabinet
 * folder appeared or went. A live cabinet's new rows then reach the index within a fraction of
 * a second, without statting every file. Where the platform cannot notify (some network file
 * systems, or the system's watch limit reached), nothing arrives, it is logged, and the
 * caller's slower poll still finds every change.
 */
export class FolderNotices {
  private readonly folders = new Map<string, FSWatcher>();
  private readonly rootWatcher: FSWatcher | null;
  private pending: ChangedFiles = new Map();
  private foldersChanged = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly onNotice: (files: ChangedFiles, foldersChanged: boolean) => void,
    private readonly log: (event: Record<string, unknown>) => void,
  ) {
    this.rootWatcher = this.open(root, null, (name) => {
      // The index folder and other hidden entries are not cabinets.
      if (name.startsWith('.') || !DEVICE_ID.test(name)) return;
      this.foldersChanged = true;
      this.schedule();
    });
  }

  /** Watches exactly these cabinets' folders (the ones the last full refresh found). */
  follow(deviceIds: Iterable<string>): void {
    if (this.closed) return;
    const wanted = new Set(deviceIds);
    for (const [id, watcher] of this.folders) {
      if (wanted.has(id)) continue;
      watcher.close();
      this.folders.delete(id);
    }
    for (const id of wanted) {
      if (this.folders.has(id)) continue;
      const watcher = this.open(join(this.root, id), id, (name) => {
        if (!name.endsWith('.csv') || !SIGNAL_NAME.test(name.slice(0, -4))) return;
        let signals = this.pending.get(id);
        if (!signals) this.pending.set(id, (signals = new Set()));
        signals.add(name.slice(0, -4));
        this.schedule();
      });
      if (watcher) this.folders.set(id, watcher);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.rootWatcher?.close();
    for (const watcher of this.folders.values()) watcher.close();
    this.folders.clear();
  }

  /** A watcher on `path` (a cabinet's folder when `id` is set), or null when the platform refuses one. */
  private open(path: string, id: string | null, onName: (name: string) => void): FSWatcher | null {
    try {
      const watcher = watch(path, { persistent: false }, (_event, name) => {
        if (name && !this.closed) onName(String(name));
      });
      watcher.on('error', (error) => {
        this.log({ event: 'notices_failed', path, error: String(error) });
        watcher.close();
        if (id !== null && this.folders.get(id) === watcher) this.folders.delete(id);
      });
      return watcher;
    } catch (error) {
      this.log({ event: 'notices_unavailable', path, error: String(error) });
      return null;
    }
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const files = this.pending;
      const foldersChanged = this.foldersChanged;
      this.pending = new Map();
      this.foldersChanged = false;
      this.onNotice(files, foldersChanged);
    }, NOTICE_DELAY_MS);
    this.timer.unref();
  }
}
