import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { generateDevice, type DeviceJob, type DeviceResult } from './device.js';
import { defaultFaults, faultSignals, type FaultLabel, type FaultSpec } from './faults.js';
import { REFERENCE_PROFILE, variedProfile, type CabinetProfile } from './profile.js';
import { Random } from './random.js';

export { FAULT_KINDS, type FaultKind, type FaultLabel, type FaultSpec } from './faults.js';
export { DIRT_BY_SIGNAL, type DirtKind } from './dirt.js';
export { flowingHours, type CabinetProfile, type DispatchStyle } from './profile.js';

export const DEFAULT_DEVICE_IDS = ['ZHPESS232A230002', 'ZHPESS232A230003', 'ZHPESS232A230007'];

export interface GenerateOptions {
  root: string;
  /** Device ids, or how many (named like the reference fleet). */
  devices?: string[] | number;
  /** First day, ISO date (UTC midnight). */
  start?: string;
  days?: number;
  seed?: number;
  /** Write the 520 per-cell files for every device (true) or the listed ones. */
  cells?: boolean | string[];
  /** Period of the per-cell files in seconds (default: the catalogue's). */
  cellPeriodS?: number;
  /** Dirty files (BOM, CRLF, bad values, duplicates, out-of-order rows, a cut-off line, ISO variants). */
  dirt?: boolean;
  /** Labelled faults: the default plan, an explicit list per device, or none. */
  faults?: 'default' | 'none' | Record<string, FaultSpec[]>;
  /** Smart-meter files under meter/ (not BESS devices; ingestion skips them). */
  meters?: boolean;
  /** Parallel device writers; default 2 (worker threads). 0 = in this thread. */
  workers?: number;
  /**
   * `reference` (default): every cabinet like the reference fleet. `varied`: each cabinet's
   * ratings, dispatch style, rest days, noise, sensor resolution, climate and cell spread drawn
   * from the seed (see `cabinetProfiles`), written to `<root>/cabinets.json`.
   */
  family?: 'reference' | 'varied';
}

export interface GenerateReport {
  root: string;
  devices: DeviceResult[];
  files: number;
  rows: number;
  bytes: number;
  seconds: number;
  faults: FaultLabel[];
  profiles: Record<string, CabinetProfile>;
}

/** Each cabinet's physics for a family and seed: what `generateDataset` simulates, so fault plans can fit it. */
export function cabinetProfiles(
  options: Pick<GenerateOptions, 'devices' | 'seed' | 'family' | 'days'>,
): Record<string, CabinetProfile> {
  const rng = new Random(options.seed ?? 42).fork('profiles');
  return Object.fromEntries(
    deviceIds(options.devices).map((id) => [
      id,
      options.family === 'varied' ? variedProfile(rng.fork(id), options.days ?? 3) : REFERENCE_PROFILE,
    ]),
  );
}

function deviceIds(devices: GenerateOptions['devices']): string[] {
  if (Array.isArray(devices)) return devices;
  const n = devices ?? 3;
  return Array.from(
    { length: n },
    (_, i) => DEFAULT_DEVICE_IDS[i] ?? `ZHPESS232A23${String(100 + i).padStart(4, '0')}`,
  );
}

/** Writes a synthetic dataset in the real layout; same options and seed, same bytes. */
export async function generateDataset(options: GenerateOptions): Promise<GenerateReport> {
  const started = performance.now();
  const start = Date.parse(`${options.start ?? '2024-03-01'}T00:00:00Z`);
  const days = options.days ?? 3;
  const seed = options.seed ?? 42;
  const ids = deviceIds(options.devices);
  const profiles = cabinetProfiles({ ...options, days });
  mkdirSync(options.root, { recursive: true });
  const jobs: DeviceJob[] = ids.map((deviceId, i) => ({
    root: options.root,
    deviceId,
    seed,
    start,
    days,
    cells: options.cells === true || (Array.isArray(options.cells) && options.cells.includes(deviceId)),
    ...(options.cellPeriodS ? { cellPeriodS: options.cellPeriodS } : {}),
    dirt: options.dirt ?? false,
    profile: profiles[deviceId]!,
    faults:
      options.faults === 'none' || options.faults === undefined
        ? []
        : options.faults === 'default'
          ? defaultFaults(i, start, days)
          : (options.faults[deviceId] ?? []),
  }));
  const results = await runJobs(jobs, options.workers ?? 2);
  const labels: FaultLabel[] = jobs.flatMap((job, i) =>
    job.faults.map((f) => {
      const truth =
        f.kind === 'sensor_stuck' ? results[i]!.stuckTruth.find((s) => s.start === f.start)?.truth : undefined;
      return {
        device: job.deviceId,
        kind: f.kind,
        signals: faultSignals(f),
        start: new Date(f.start).toISOString(),
        end: new Date(f.end).toISOString(),
        ...(f.magnitude !== undefined ? { magnitude: f.magnitude } : {}),
        ...(truth ? { truth } : {}),
      };
    }),
  );
  if (labels.length > 0) writeFileSync(join(options.root, 'faults.json'), `${JSON.stringify(labels, null, 2)}\n`);
  if (options.family === 'varied')
    writeFileSync(join(options.root, 'cabinets.json'), `${JSON.stringify(profiles, null, 2)}\n`);
  if (options.meters) writeMeters(options.root, start, days, seed);
  return {
    root: options.root,
    devices: results,
    files: results.reduce((n, r) => n + r.files, 0),
    rows: results.reduce((n, r) => n + r.rows, 0),
    bytes: results.reduce((n, r) => n + r.bytes, 0),
    seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    faults: labels,
    profiles,
  };
}

async function runJobs(jobs: DeviceJob[], workers: number): Promise<DeviceResult[]> {
  // Worker threads need the compiled script; under a TypeScript test runner, write in-process.
  if (workers <= 0 || jobs.length <= 1 || import.meta.url.endsWith('.ts')) return jobs.map(generateDevice);
  const queue = [...jobs.entries()];
  const results = new Array<DeviceResult>(jobs.length);
  const run = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [i, job] = next;
      results[i] = await new Promise<DeviceResult>((resolve, reject) => {
        const worker = new Worker(new URL('./device-worker.js', import.meta.url), { workerData: job, execArgv: [] });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, run));
  return results;
}

/** Smart meters live in meter/m1..m6, one level deeper than cabinets: not BESS data. */
function writeMeters(root: string, start: number, days: number, seed: number): void {
  const rng = new Random(seed).fork('meters');
  for (let m = 1; m <= 2; m++) {
    const dir = join(root, 'meter', `m${m}`);
    mkdirSync(dir, { recursive: true });
    for (const signal of ['com_ae', 'pf']) {
      const lines = [`ts,${signal}`];
      let energy = 1000;
      for (let t = start; t < start + days * 86_400_000; t += 15 * 60_000) {
        energy += rng.between(0, 5);
        lines.push(
          `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')},${(signal === 'pf' ? rng.between(0.9, 1) : energy).toFixed(2)}`,
        );
      }
      writeFileSync(join(dir, `${signal}.csv`), `${lines.join('\n')}\n`);
    }
  }
}
