import { DeviceAlertFeed, type AlertUpdate, type BessDataset } from '@bess/core';
import type { Notifier } from './notify/notifier.js';
import type { AlarmStore } from './store.js';
import type { AlarmChange } from './types.js';

export interface MonitorOptions {
  /** With no checkpoint yet, how far back from a cabinet's newest reading to start (ms; default 7 days). */
  historyMs?: number;
  /** Alarms that open within this long of a cabinet's newest reading are live and notified (ms; default 15 min). */
  liveWindowMs?: number;
  /** After a restart, the detector re-reads this long before the checkpoint to find the conditions still held (ms). */
  lookbackMs?: number;
  /** Records per step (each step is one transaction with the checkpoint). */
  pageRecords?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

const DAY_MS = 86_400_000;

interface DeviceRun {
  wake: (() => void) | null;
  pending: boolean;
  done: Promise<void>;
}

/**
 * The always-on detector: the streaming detector over every cabinet's records and raw readings,
 * from a persisted checkpoint to the live tail, whether or not anyone watches. Each step's alarm
 * changes, queued notifications and the new checkpoint commit together, so a restart neither
 * repeats nor loses an alarm.
 */
export class AlarmMonitor {
  private readonly runs = new Map<string, DeviceRun>();
  private stopped = false;
  private unlisten: (() => void) | null = null;
  private readonly log: NonNullable<MonitorOptions['log']>;
  /** Cabinets whose backlog has been read at least once since start-up. */
  readonly caughtUp = new Set<string>();

  constructor(
    private readonly dataset: BessDataset,
    private readonly store: AlarmStore,
    private readonly notifier: Notifier | null,
    private readonly options: MonitorOptions = {},
  ) {
    this.log = options.log ?? (() => {});
  }

  start(): void {
    this.unlisten = this.dataset.onChange((change) => {
      for (const id of change.devices.keys()) this.poke(id);
      for (const device of this.dataset.devices()) this.poke(device.id);
    });
    for (const device of this.dataset.devices()) this.poke(device.id);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    for (const run of this.runs.values()) run.wake?.();
    await Promise.all([...this.runs.values()].map((r) => r.done));
  }

  /** Tells the cabinet's loop there may be new records (starting it the first time). */
  private poke(deviceId: string): void {
    const run = this.runs.get(deviceId);
    if (run) {
      run.pending = true;
      run.wake?.();
      return;
    }
    const created: DeviceRun = { wake: null, pending: true, done: Promise.resolve() };
    this.runs.set(deviceId, created);
    created.done = this.follow(deviceId, created).catch((error: unknown) => {
      this.log('error', 'alarm monitor stopped for a cabinet', { device: deviceId, error: String(error) });
      this.runs.delete(deviceId);
    });
  }

  private async follow(deviceId: string, run: DeviceRun): Promise<void> {
    const info = this.dataset.device(deviceId);
    const feed = new DeviceAlertFeed(this.dataset, deviceId);
    const stepMs = this.dataset.defaultStepMs(deviceId, feed.driver);
    const checkpoint = await this.store.checkpoint(deviceId);
    const newest = info.last ?? 0;
    const from =
      checkpoint === null
        ? newest - (this.options.historyMs ?? 7 * DAY_MS)
        : checkpoint - (this.options.lookbackMs ?? 30 * 60_000);
    // Alarms active at the last stop: each is confirmed when the detector finds its condition again.
    const unconfirmed = new Set(checkpoint === null ? [] : await this.store.activeIds(deviceId));
    let position = this.dataset.positionOf(deviceId, feed.driver, from, stepMs);
    const page = this.options.pageRecords ?? 500;
    while (!this.stopped) {
      run.pending = false;
      const fetched = await this.dataset.page(deviceId, feed.driver, { skip: position, limit: page, stepMs });
      // Records after the newest reading only carry slow signals forward (as-of): nothing new to judge,
      // and rows that arrive for those times must still find the detector before them.
      const newestReading = this.dataset.device(deviceId).last ?? -Infinity;
      const records = fetched.records.filter((r) => Date.parse(r.timestamp) <= newestReading);
      const total = fetched.total;
      if (records.length === 0) {
        if (!this.caughtUp.has(deviceId)) {
          this.caughtUp.add(deviceId);
          await this.clearUnconfirmed(unconfirmed, checkpoint);
          this.log('info', 'alarm monitor caught up', { device: deviceId, records: total });
        }
        if (!run.pending) await new Promise<void>((resolve) => (run.wake = resolve));
        run.wake = null;
        continue;
      }
      const updates: AlertUpdate[] = [];
      for (const record of records) updates.push(...(await feed.push(record)));
      position += records.length;
      const through = Date.parse(records.at(-1)!.timestamp);
      await this.commit(deviceId, updates, through, unconfirmed, checkpoint);
    }
  }

  /** One step: alarm changes, their notifications and the checkpoint, in one transaction. */
  private async commit(
    deviceId: string,
    updates: readonly AlertUpdate[],
    through: number,
    unconfirmed: Set<string>,
    checkpoint: number | null,
  ): Promise<void> {
    const newest = this.dataset.device(deviceId).last ?? through;
    const liveAfter = newest - (this.options.liveWindowMs ?? 15 * 60_000);
    const now = Date.now();
    let queued = 0;
    const changes = await this.store.db.transaction(async (tx) => {
      const out: AlarmChange[] = [];
      for (const update of updates) {
        const e = update.event;
        // Re-read before the checkpoint: it only confirms alarms still active; what it saw was applied before.
        if (checkpoint !== null && e.start <= checkpoint) {
          const held = update.status === 'closed' ? null : await this.store.activeOf(tx, deviceId, e.kind, e.signals);
          if (held) unconfirmed.delete(held);
          // A condition that began before the stop may still worsen or end after it: those apply.
          if (update.status === 'opened' || e.end <= checkpoint) continue;
        }
        const { alarmId, change } = await this.store.applyDetection(tx, update, {
          historical: e.start < liveAfter,
          now,
        });
        if (alarmId) unconfirmed.delete(alarmId);
        if (!change) continue;
        const at = change.trigger === 'cleared' ? (change.alarm.clearedAt ?? e.end) : e.start;
        queued += (await this.notifier?.enqueue(tx, change, at >= liveAfter, now)) ?? 0;
        out.push(change);
      }
      if (checkpoint === null || through > checkpoint) await this.store.saveCheckpoint(tx, deviceId, through);
      return out;
    });
    this.store.publish(changes);
    if (queued > 0) this.notifier?.wake();
  }

  private async clearUnconfirmed(unconfirmed: Set<string>, checkpoint: number | null): Promise<void> {
    if (unconfirmed.size === 0 || checkpoint === null) return;
    const ids = [...unconfirmed];
    unconfirmed.clear();
    const changes = await this.store.db.transaction((tx) =>
      this.store.clearUnconfirmed(tx, ids, checkpoint, Date.now()),
    );
    this.store.publish(changes);
  }
}
