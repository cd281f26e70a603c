import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** What the steps that run the server as a process of its own need: a port, its readiness, its memory. */

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** Waits until `healthUrl` answers 200 (up to a minute). */
export async function waitForHealth(healthUrl: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(healthUrl)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

/** Resident memory of a running process (MB). */
export function rssMbOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
}
