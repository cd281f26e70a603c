import { describe, expect, it } from 'vitest';
import { clusterConfig } from './roles.js';

describe('cluster settings from the environment', () => {
  it('defaults to the embedded product: both roles, the files store, no bus', () => {
    expect(clusterConfig({})).toEqual({
      role: 'all',
      store: 'files',
      databaseUrl: null,
      readUrl: null,
      redisUrl: null,
      catchUpMs: 1_000,
      watchMs: 30_000,
      retentionMs: null,
    });
  });

  it('takes the PostgreSQL store for the split roles, a standby to read from and a retention', () => {
    const config = clusterConfig({
      BESS_ROLE: 'api',
      BESS_DATABASE_URL: 'postgres://primary/bess',
      BESS_DATABASE_READ_URL: 'postgres://standby/bess',
      BESS_BUS: 'redis',
      BESS_REDIS_URL: 'redis://127.0.0.1:6379',
      BESS_RAW_RETENTION_DAYS: '400',
    });
    expect(config).toMatchObject({
      role: 'api',
      store: 'postgres',
      readUrl: 'postgres://standby/bess',
      redisUrl: 'redis://127.0.0.1:6379',
      retentionMs: 400 * 86_400_000,
    });
  });

  it('refuses combinations that cannot work, naming the variable', () => {
    const refused: [Record<string, string>, RegExp][] = [
      [{ BESS_ROLE: 'replica' }, /BESS_ROLE must be/],
      [{ BESS_ROLE: 'api', BESS_STORE: 'files' }, /BESS_ROLE=api needs BESS_STORE=postgres/],
      [{ BESS_ROLE: 'ingest' }, /needs BESS_DATABASE_URL/],
      [{ BESS_STORE: 'postgres', BESS_DATABASE_URL: 'postgres://x/y', BESS_BUS: 'redis' }, /needs BESS_REDIS_URL/],
      [{ BESS_BUS: 'kafka' }, /BESS_BUS must be/],
      [{ BESS_CATCHUP_MS: '5' }, /BESS_CATCHUP_MS must be/],
      [{ BESS_RAW_RETENTION_DAYS: '0' }, /BESS_RAW_RETENTION_DAYS must be/],
    ];
    for (const [env, message] of refused) expect(() => clusterConfig(env), JSON.stringify(env)).toThrow(message);
  });
});
