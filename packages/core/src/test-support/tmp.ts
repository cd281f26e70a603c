import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch data root that a test fills with CSV files and removes afterwards. */
export function scratchRoot(): {
  root: string;
  write: (device: string, signal: string, text: string) => string;
  remove: () => void;
} {
  const root = mkdtempSync(join(tmpdir(), 'bess-test-'));
  return {
    root,
    write(device, signal, text) {
      mkdirSync(join(root, device), { recursive: true });
      const path = join(root, device, `${signal}.csv`);
      writeFileSync(path, text);
      return path;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** CSV text of `ts,<signal>` with one line per [isoSecondsUtc, value]. */
export function csv(signal: string, rows: [string, number | string][]): string {
  return `ts,${signal}\n${rows.map(([t, v]) => `${t},${v}`).join('\n')}\n`;
}

/** `YYYY-MM-DD HH:MM:SS` for epoch ms. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
