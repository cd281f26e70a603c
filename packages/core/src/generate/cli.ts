import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset, type GenerateOptions } from './index.js';

/**
 * node packages/core/dist/generate/cli.js --out DIR [--preset sample|bench]
 *   [--days N] [--devices N] [--start YYYY-MM-DD] [--seed N] [--cells] [--dirt] [--faults] [--meters] [--family reference|varied]
 */
const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    preset: { type: 'string' },
    days: { type: 'string' },
    devices: { type: 'string' },
    start: { type: 'string' },
    seed: { type: 'string' },
    cells: { type: 'boolean' },
    dirt: { type: 'boolean' },
    faults: { type: 'boolean' },
    meters: { type: 'boolean' },
    family: { type: 'string' },
  },
});
if (!values.out) {
  console.error(
    'usage: cli.js --out DIR [--preset sample|bench] [--days N] [--devices N] [--start YYYY-MM-DD] [--seed N] [--cells] [--dirt] [--faults] [--meters] [--family reference|varied]',
  );
  process.exit(2);
}

/** The committed sample (data/) and the full-size benchmark set. */
const PRESETS: Record<string, Omit<GenerateOptions, 'root'>> = {
  sample: {
    devices: 3,
    days: 3,
    start: '2024-03-01',
    seed: 42,
    cells: ['ZHPESS232A230002'],
    cellPeriodS: 600,
    dirt: true,
    faults: 'default',
    meters: true,
  },
  bench: { devices: 3, days: 640, start: '2023-09-01', seed: 2025, cells: true, dirt: false, faults: 'default' },
};
const base = values.preset ? PRESETS[values.preset] : {};
if (!base) {
  console.error(`unknown preset ${values.preset}`);
  process.exit(2);
}
const report = await generateDataset({
  ...base,
  root: resolve(values.out),
  ...(values.days ? { days: Number(values.days) } : {}),
  ...(values.devices ? { devices: Number(values.devices) } : {}),
  ...(values.start ? { start: values.start } : {}),
  ...(values.seed ? { seed: Number(values.seed) } : {}),
  ...(values.cells ? { cells: true } : {}),
  ...(values.dirt ? { dirt: true } : {}),
  ...(values.faults ? { faults: 'default' as const } : {}),
  ...(values.meters ? { meters: true } : {}),
  ...(values.family === 'varied' ? { family: 'varied' as const } : {}),
});
console.log(
  JSON.stringify({
    root: report.root,
    files: report.files,
    rows: report.rows,
    megabytes: Number((report.bytes / 1e6).toFixed(1)),
    seconds: report.seconds,
    mbPerSecond: Number((report.bytes / 1e6 / report.seconds).toFixed(1)),
    faults: report.faults.length,
  }),
);
