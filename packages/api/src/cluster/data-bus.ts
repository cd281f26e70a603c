import { Redis } from 'ioredis';
import type { Logger } from '../ops/log.js';

/** "Cabinet X has readings committed up to t": what the ingest role tells the API replicas. */
interface DataNotice {
  deviceId: string;
  upTo: number;
}

/**
 * Notices between processes. Best effort by design: a lost notice only delays delivery, since
 * the replicas also catch up on a timer, and after a reconnect (when notices may have been missed).
 */
export interface DataBus {
  publish(notice: DataNotice): void;
  onNotice(listener: (notice: DataNotice) => void): () => void;
  /** Called each time the bus is connected again after losing its server. */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}

const CHANNEL = 'bess:data';

/** Options for both connections: reconnect within a second, never queue commands while away. */
function connect(url: string): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  });
}

/** The bus over Redis pub/sub (`BESS_BUS=redis`, `BESS_REDIS_URL`). */
export function redisDataBus(url: string, log: Logger): DataBus {
  const publisher = connect(url);
  const subscriber = connect(url);
  const notices = new Set<(notice: DataNotice) => void>();
  const reconnects = new Set<() => void>();
  let connectedOnce = false;
  let down = false;
  for (const client of [publisher, subscriber]) {
    client.on('error', (error: Error) => {
      if (!down) log('warn', 'redis unreachable; replicas catch up on their timer meanwhile', { error: error.message });
      down = true;
    });
  }
  subscriber.on('ready', () => {
    void subscriber.subscribe(CHANNEL).catch(() => undefined);
    if (connectedOnce) {
      log('info', 'redis reachable again');
      for (const listener of reconnects) listener();
    }
    connectedOnce = true;
    down = false;
  });
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== CHANNEL) return;
    const notice = parseNotice(message);
    if (notice) for (const listener of notices) listener(notice);
  });
  return {
    publish(notice) {
      publisher.publish(CHANNEL, JSON.stringify(notice)).catch(() => undefined);
    },
    onNotice(listener) {
      notices.add(listener);
      return () => notices.delete(listener);
    },
    onReconnect(listener) {
      reconnects.add(listener);
      return () => reconnects.delete(listener);
    },
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

/** A notice from the channel, or null for anything else published there. */
function parseNotice(message: string): DataNotice | null {
  try {
    const value = JSON.parse(message) as unknown;
    if (
      value &&
      typeof value === 'object' &&
      typeof (value as DataNotice).deviceId === 'string' &&
      typeof (value as DataNotice).upTo === 'number'
    )
      return { deviceId: (value as DataNotice).deviceId, upTo: (value as DataNotice).upTo };
  } catch {
    // not ours
  }
  return null;
}
