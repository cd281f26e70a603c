import type { IndexedBessDataset } from '@bess/core';
import type { IndexMirror, MirrorResult } from '@bess/postgres-store';
import type { Logger } from '../ops/log.js';

/** Wait before retrying devices whose commit failed (PostgreSQL away). */
const RETRY_MS = 1_000;
/** How often retention looks for months to drop. */
const RETENTION_EVERY_MS = 3_600_000;

/**
 * The ingest role's loop: every change the files store finds (new rows, rebuilt or removed
 * files) is mirrored into PostgreSQL, a device at a time and one sync at a time; each commit is
 * announced. Devices whose commit failed stay pending and are retried until it succeeds.
 */
export class IngestLoop {
  private readonly pending = new Set<string>();
  private running: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private unlisten: (() => void) | null = null;
  private failing = false;
  private closed = false;
  /** Readings written since start, for logs and the benchmark. */
  readings = 0;

  constructor(
    private readonly files: IndexedBessDataset,
    private readonly mirror: IndexMirror,
    private readonly onCommitted: (committed: MirrorResult['committed']) => void,
    private readonly log: Logger,
    /** Keep raw readings this long before the newest (ms); null keeps them all. */
    private readonly retentionMs: number | null = null,
  ) {}

  private retentionDue = 0;

  /** Mirrors everything once (retrying while PostgreSQL is away), then follows the files store's changes. */
  start(): void {
    for (const d of this.files.devices()) this.pending.add(d.id);
    this.unlisten = this.files.onChange((change) => {
      for (const id of change.devices.keys()) this.pending.add(id);
      this.kick();
    });
    this.kick();
  }

  /** Resolves once nothing is pending or running (tests and the benchmark). */
  async idle(): Promise<void> {
    while (this.running || this.pending.size > 0) {
      await (this.running ?? new Promise((r) => setTimeout(r, 20)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unlisten?.();
    if (this.retry) clearTimeout(this.retry);
    await this.running;
  }

  private kick(): void {
    if (this.running || this.closed || this.retry) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.pending.size > 0 && !this.retry) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.closed) {
      const id = this.pending.values().next().value!;
      this.pending.delete(id);
      try {
        // A device at a time, announced as soon as it commits.
        const result = await this.mirror.sync([id]);
        this.readings += result.readings;
        if (this.failing) this.log('info', 'ingest: PostgreSQL reachable again; mirroring resumed');
        this.failing = false;
        if (result.committed.size > 0) this.onCommitted(result.committed);
      } catch (error) {
        this.pending.add(id);
        if (!this.failing)
          this.log('error', 'ingest: mirroring into PostgreSQL failed; retrying', { error: String(error) });
        this.failing = true;
        this.retry = setTimeout(() => {
          this.retry = null;
          this.kick();
        }, RETRY_MS);
        return;
      }
    }
    if (this.retentionMs !== null && Date.now() >= this.retentionDue && !this.closed)
      await this.retain(this.retentionMs);
  }

  private async retain(keepMs: number): Promise<void> {
    try {
      const { dropped, retainedFrom } = await this.mirror.applyRetention(keepMs);
      this.retentionDue = Date.now() + RETENTION_EVERY_MS;
      if (dropped.length === 0) return;
      this.log('info', 'ingest: retention dropped raw readings', {
        dropped,
        before: new Date(retainedFrom).toISOString(),
      });
      this.onCommitted(new Map(this.files.devices().map((d) => [d.id, d.last ?? -Infinity])));
    } catch (error) {
      this.log('error', 'ingest: retention failed; retrying with the next sync', { error: String(error) });
    }
  }
}
