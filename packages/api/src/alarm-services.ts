import { join } from 'node:path';
import {
  AlarmMonitor,
  AlarmStore,
  loadSavedConfig,
  Notifier,
  openPglite,
  openPostgres,
  type NotifyConfig,
  type SqlDatabase,
} from '@bess/alarms';
import type { BessDataset } from '@bess/core';
import type { Logger } from './ops/log.js';
import type { AlarmServices } from './trpc.js';

const MINUTE = 60_000;

/**
 * The server's alarms from its environment: the store on PGlite under the data folder (or
 * `BESS_DB_DIR`), or on PostgreSQL with `BESS_DATABASE_URL`; notifications from `BESS_NOTIFY_CONFIG`;
 * the always-on detector over every cabinet. With `watch` false (an API replica), only the store
 * and the notification settings: one process (the ingest) detects and notifies for the fleet.
 */
export async function startAlarms(
  dataset: BessDataset,
  dataDir: string,
  config: NotifyConfig,
  log: Logger,
  { env = process.env, watch = true }: { env?: NodeJS.ProcessEnv; watch?: boolean } = {},
): Promise<{ services: AlarmServices; close: () => Promise<void> }> {
  const number = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`);
    return value;
  };
  const db: SqlDatabase = env.BESS_DATABASE_URL
    ? await openPostgres(env.BESS_DATABASE_URL)
    : await openPglite(env.BESS_DB_DIR ?? join(dataDir, '.bess-db'));
  const store = await AlarmStore.open(db);
  // Channels and rules an admin set through the API replace the file's.
  const saved = await loadSavedConfig(db);
  const notifier = new Notifier(db, saved?.config ?? config, {
    log: (level, message, fields) => log(level, message, fields),
  });
  const monitor = new AlarmMonitor(dataset, store, notifier, {
    historyMs: number('BESS_ALARM_HISTORY_DAYS', 7) * 1440 * MINUTE,
    liveWindowMs: number('BESS_NOTIFY_WINDOW_MINUTES', 15) * MINUTE,
    log: (level, message, fields) => log(level, message, fields),
  });
  if (watch) {
    notifier.start();
    monitor.start();
  }
  log('info', watch ? 'alarms running' : 'alarm store open (detection runs in the ingest role)', {
    store: db.engine,
    notifications: saved ? `set through the API by ${saved.updatedBy}` : 'from BESS_NOTIFY_CONFIG',
    channels: Object.keys(notifier.current.channels).length,
    rules: notifier.current.rules.length,
  });
  return {
    services: { store, notifier },
    async close() {
      await monitor.close();
      await notifier.close();
      await db.close();
    },
  };
}
