import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { openPglite, openPostgres, type SqlDatabase } from '../db.js';

const SCRIPT = resolve(import.meta.dirname, '../../../../scripts/throwaway-postgres.sh');

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A throwaway PostgreSQL server (scripts/throwaway-postgres.sh), and fresh databases on it. */
export async function startPostgres(): Promise<{
  url: string;
  freshDatabase: () => Promise<string>;
  stop: () => void;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'bess-pg-'));
  const url = execFileSync('bash', [SCRIPT, 'start', dir, String(await freePort())], { encoding: 'utf8' }).trim();
  let n = 0;
  return {
    url,
    async freshDatabase() {
      const name = `t${process.pid}_${++n}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      return url.replace(/\/bess$/, `/${name}`);
    },
    stop: () => execFileSync('bash', [SCRIPT, 'stop', dir]),
  };
}

export type Engine = 'pglite' | 'postgres';

/** Opens a fresh database of `engine`: PGlite in `dir` (or memory), or a new database on `server`. */
export async function openFresh(
  engine: Engine,
  server: Awaited<ReturnType<typeof startPostgres>> | null,
  dir?: string,
): Promise<{ open: () => Promise<SqlDatabase> }> {
  if (engine === 'pglite') return { open: () => openPglite(dir ?? 'memory://') };
  const url = await server!.freshDatabase();
  return { open: () => openPostgres(url) };
}
