import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { kindOf } from './source-file.js';

/** Device folder names and signal file stems we accept: no dots-only names, no separators. */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const SIGNAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface DiscoveredDevice {
  id: string;
  dir: string;
  /** signal name -> CSV path */
  files: Map<string, string>;
  /** Signal files that are not regular files (links, pipes, devices), never read: signal name -> what they are. */
  refused: Map<string, string>;
}

/**
 * Cabinets are the folders of the data root that hold signal CSVs directly.
 * Folders without CSVs (such as `meter/`, whose files sit one level deeper and
 * are not BESS data), hidden folders (the index) and odd names are skipped.
 */
export async function discoverDevices(root: string): Promise<DiscoveredDevice[]> {
  // Asynchronous (the thread pool lists the folders): a server re-discovers from time to time
  // (watch), and a cabinet folder holds some 600 files.
  const devices: DiscoveredDevice[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !DEVICE_ID.test(entry.name)) continue;
    const dir = join(root, entry.name);
    const files = new Map<string, string>();
    const refused = new Map<string, string>();
    for (const file of await readdir(dir, { withFileTypes: true })) {
      if (!file.name.endsWith('.csv')) continue;
      const signal = file.name.slice(0, -4);
      if (!SIGNAL_NAME.test(signal)) continue;
      // The entry's own type (lstat's): a link is refused even when it points at a regular file.
      if (file.isFile()) files.set(signal, join(dir, file.name));
      else refused.set(signal, kindOf(file));
    }
    if (files.size > 0) devices.push({ id: entry.name, dir, files, refused });
  }
  return devices.sort((a, b) => a.id.localeCompare(b.id));
}
