import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** CSV files of the cabinets under a data root (the meter folder and hidden folders excluded). */
export function cabinetCsvFiles(root: string): string[] {
  const out: string[] = [];
  for (const device of readdirSync(root, { withFileTypes: true })) {
    if (!device.isDirectory() || device.name.startsWith('.') || device.name === 'meter') continue;
    for (const file of readdirSync(join(root, device.name)))
      if (file.endsWith('.csv')) out.push(join(root, device.name, file));
  }
  return out.sort();
}

export function datasetBytes(root: string): { files: number; bytes: number } {
  const files = cabinetCsvFiles(root);
  return { files: files.length, bytes: files.reduce((n, f) => n + statSync(f).size, 0) };
}
