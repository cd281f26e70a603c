import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';

const SCRIPTS = resolve(import.meta.dirname, '../../../scripts');

/** Debian's Chromium as the brief launches it, headless: for the browser tests and the dashboard bench. */
export const CHROMIUM_LAUNCH = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
};

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface ThrowawayPostgres {
  url: string;
  /** A new, empty database on the server; its URL. */
  freshDatabase: () => Promise<string>;
  /** Stops the server (fast shutdown) and starts it again on the same port and data. */
  restart: () => void;
  /** Stops the server, keeping its data, until start(). */
  pause: () => void;
  resume: () => void;
  stop: () => void;
}

/** A throwaway PostgreSQL server (scripts/throwaway-postgres.sh) in its own folder. */
export async function startPostgres(): Promise<ThrowawayPostgres> {
  const script = join(SCRIPTS, 'throwaway-postgres.sh');
  const dir = mkdtempSync(join(tmpdir(), 'bess-pg-'));
  const port = String(await freePort());
  const url = execFileSync('bash', [script, 'start', dir, port], { encoding: 'utf8' }).trim();
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
    restart: () => execFileSync('bash', [script, 'restart', dir, port]),
    pause: () => execFileSync('bash', [script, 'pause', dir]),
    resume: () => execFileSync('bash', [script, 'resume', dir, port]),
    stop: () => execFileSync('bash', [script, 'stop', dir]),
  };
}

export interface ThrowawayRedis {
  url: string;
  /** Stops the server (no save) and starts it again on the same port. */
  restart: () => void;
  stop: () => void;
}

/** A throwaway Redis server (scripts/throwaway-redis.sh) in its own folder. */
export async function startRedis(): Promise<ThrowawayRedis> {
  const script = join(SCRIPTS, 'throwaway-redis.sh');
  const dir = mkdtempSync(join(tmpdir(), 'bess-redis-'));
  const port = String(await freePort());
  const url = execFileSync('bash', [script, 'start', dir, port], { encoding: 'utf8' }).trim();
  return {
    url,
    restart: () => execFileSync('bash', [script, 'restart', dir, port]),
    stop: () => execFileSync('bash', [script, 'stop', dir]),
  };
}
