import { openDataset, type BessDataset, type DatasetOptions, type IndexedBessDataset } from '@bess/core';
import {
  IndexMirror,
  isUnavailable,
  migrate,
  openPostgresDataset,
  Sql,
  StoreUnavailableError,
  type PostgresDataset,
} from '@bess/postgres-store';
import type { Logger } from '../ops/log.js';
import { redisDataBus, type DataBus } from './data-bus.js';
import { IngestLoop } from './ingest-loop.js';
import { RedisPeerUsage } from './peer-usage.js';

type Role = 'all' | 'ingest' | 'api';

/** How this process takes part: what it runs and which store and bus it uses. */
export interface ClusterConfig {
  /** `all` (default): ingest and API in one process; `ingest` or `api`: one of them, over PostgreSQL. */
  role: Role;
  /** `files` (default): the indexes under the data folder; `postgres`: the PostgreSQL store. */
  store: 'files' | 'postgres';
  databaseUrl: string | null;
  /** Where an API replica reads readings from: a read-only standby, or the primary (default). */
  readUrl: string | null;
  /** `redis`: commits are announced to the API replicas over Redis; otherwise they catch up on their timer. */
  redisUrl: string | null;
  /** How often an API replica looks for commits it was not told of (ms). */
  catchUpMs: number;
  /** How often the files store checks every file besides change notifications (ms). */
  watchMs: number;
  /** Raw readings kept this long before the newest (ms), in the PostgreSQL store; null: all. */
  retentionMs: number | null;
}

/** The cluster settings from the environment, refusing combinations that cannot work, by name. */
export function clusterConfig(env: NodeJS.ProcessEnv): ClusterConfig {
  const role = env.BESS_ROLE ?? 'all';
  if (role !== 'all' && role !== 'ingest' && role !== 'api') throw new Error('BESS_ROLE must be all, ingest or api');
  const store = env.BESS_STORE ?? (role === 'all' ? 'files' : 'postgres');
  if (store !== 'files' && store !== 'postgres') throw new Error('BESS_STORE must be files or postgres');
  if (role !== 'all' && store !== 'postgres') throw new Error(`BESS_ROLE=${role} needs BESS_STORE=postgres`);
  const databaseUrl = env.BESS_DATABASE_URL ?? null;
  if (store === 'postgres' && !databaseUrl) throw new Error('BESS_STORE=postgres needs BESS_DATABASE_URL');
  const bus = env.BESS_BUS ?? 'none';
  if (bus !== 'none' && bus !== 'redis') throw new Error('BESS_BUS must be none or redis');
  const redisUrl = bus === 'redis' ? (env.BESS_REDIS_URL ?? null) : null;
  if (bus === 'redis' && !redisUrl) throw new Error('BESS_BUS=redis needs BESS_REDIS_URL');
  const ms = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value) || value < 50) throw new Error(`${name} must be a number of milliseconds >= 50`);
    return value;
  };
  return {
    role,
    store,
    databaseUrl,
    readUrl: env.BESS_DATABASE_READ_URL ?? databaseUrl,
    redisUrl,
    catchUpMs: ms('BESS_CATCHUP_MS', 1_000),
    watchMs: ms('BESS_WATCH_MS', 30_000),
    retentionMs: retentionFrom(env.BESS_RAW_RETENTION_DAYS),
  };
}

function retentionFrom(days: string | undefined): number | null {
  if (days === undefined || days === '') return null;
  const value = Number(days);
  if (!Number.isFinite(value) || value < 1) throw new Error('BESS_RAW_RETENTION_DAYS must be a number of days >= 1');
  return value * 86_400_000;
}

export interface Stores {
  /** What the API serves; null in the ingest role. */
  served: BessDataset | null;
  /** The files store, where this process ingests; null in the api role. */
  files: IndexedBessDataset | null;
  /** The ingest loop into PostgreSQL, where this process runs one. */
  ingest: IngestLoop | null;
  /** The other replicas' use of the per-client limits, where they share them through Redis. */
  peerUsage: RedisPeerUsage | null;
  close(): Promise<void>;
}

/** Wait between attempts to reach PostgreSQL at start-up. */
const START_RETRY_MS = 2_000;

/** Opens what `config` asks of this process, and wires commits to the replicas' refreshes. */
export async function openStores(
  config: ClusterConfig,
  dataDir: string,
  log: Logger,
  datasetOptions: DatasetOptions,
): Promise<Stores> {
  const closers: (() => Promise<void> | void)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  let files: IndexedBessDataset | null = null;
  if (config.role !== 'api') {
    files = await openDataset(dataDir, datasetOptions);
    const opened = files;
    const stopWatching = files.watch(config.watchMs);
    closers.push(() => opened.close(), stopWatching);
  }
  if (config.store === 'files') return { served: files, files, ingest: null, peerUsage: null, close };

  const bus: DataBus | null = config.redisUrl ? redisDataBus(config.redisUrl, log) : null;
  if (bus) closers.push(() => bus.close());
  const url = config.databaseUrl!;
  let served: PostgresDataset | null = null;
  let ingest: IngestLoop | null = null;
  let peerUsage: RedisPeerUsage | null = null;
  if (files) {
    const sql = new Sql(url, 4);
    await untilReachable(() => migrate(sql), log);
    ingest = new IngestLoop(
      files,
      new IndexMirror(files, sql),
      (committed) => {
        for (const [deviceId, upTo] of committed) bus?.publish({ deviceId, upTo });
        served?.refresh().catch(() => undefined);
      },
      log,
      config.retentionMs,
    );
    const loop = ingest;
    closers.push(
      () => sql.close(),
      () => loop.close(),
    );
  }
  if (config.role !== 'ingest') {
    const pg = await untilReachable(() => openPostgresDataset(config.readUrl!), log);
    served = pg;
    const stopCatchUp = pg.watch(config.catchUpMs);
    const refresh = (): void => void pg.refresh().catch(() => undefined);
    const offNotice = bus?.onNotice(refresh);
    const offReconnect = bus?.onReconnect(refresh);
    closers.push(
      () => pg.close(),
      stopCatchUp,
      () => offNotice?.(),
      () => offReconnect?.(),
    );
    if (config.redisUrl) {
      const usage = new RedisPeerUsage(config.redisUrl);
      peerUsage = usage;
      closers.push(() => usage.close());
    }
  }
  ingest?.start();
  return { served, files, ingest, peerUsage, close };
}

/** `open()` again while PostgreSQL cannot be reached (it may start after this process); any other error stops the start. */
async function untilReachable<T>(open: () => Promise<T>, log: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError || isUnavailable(error))) throw error;
      if (attempt === 1)
        log('warn', 'PostgreSQL not ready at start (unreachable, or no schema yet); retrying every 2 s', {
          error: String(error),
        });
      await new Promise((r) => setTimeout(r, START_RETRY_MS));
    }
  }
}
