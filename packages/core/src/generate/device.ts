import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { cabinetSignals, parseCellSignal, type SignalSpec } from '../catalog.js';
import { DIRT_BY_SIGNAL, dirtyLines } from './dirt.js';
import { activeFault, type FaultSpec, type LoggedTruth } from './faults.js';
import { CabinetModel, TICK_MS, TICKS_PER_DAY } from './physics.js';
import type { CabinetProfile } from './profile.js';
import { Random } from './random.js';
import { samplerFor } from './signals.js';

export interface DeviceJob {
  root: string;
  deviceId: string;
  seed: number;
  start: number;
  days: number;
  cells: boolean;
  /** Period of the per-cell files (s); default the catalogue's. */
  cellPeriodS?: number;
  dirt: boolean;
  faults: FaultSpec[];
  profile: CabinetProfile;
}

export interface DeviceResult {
  deviceId: string;
  files: number;
  rows: number;
  bytes: number;
  /** Per sensor_stuck fault (by its start): what the frozen sensor would have logged. */
  stuckTruth: { start: number; truth: LoggedTruth }[];
}

const DAY_MS = 86_400_000;
const CLOCK = Array.from({ length: 86_400 }, (_, s) =>
  [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60].map((x) => String(x).padStart(2, '0')).join(':'),
);

function datePrefix(dayStart: number): string {
  return new Date(dayStart).toISOString().slice(0, 10);
}

interface SignalWriter {
  spec: SignalSpec;
  periodMs: number;
  phaseMs: number;
  fd: number;
  rng: Random;
  stuckValue: string | null;
  lastLine: string;
}

/**
 * Writes one cabinet's files day by day: simulate the day, then sample every
 * signal at its own jittered times and append one chunk per file. Memory holds
 * one day of one cabinet.
 */
export function generateDevice(job: DeviceJob): DeviceResult {
  const dir = join(job.root, job.deviceId);
  mkdirSync(dir, { recursive: true });
  const rng = new Random(job.seed).fork(job.deviceId);
  const model = new CabinetModel(rng.fork('model'), job.faults, job.profile);
  const writers: SignalWriter[] = cabinetSignals(job.cells).map((spec) => {
    const isCell = parseCellSignal(spec.signal) !== undefined;
    const periodMs = (isCell && job.cellPeriodS ? job.cellPeriodS : spec.nominalPeriodS) * 1000;
    const signalRng = rng.fork(spec.signal);
    const fd = openSync(join(dir, `${spec.signal}.csv`), 'w');
    const dirt = job.dirt ? DIRT_BY_SIGNAL[spec.signal] : undefined;
    writeSync(fd, `${dirt === 'bom' ? '\uFEFF' : ''}ts,${spec.signal}${dirt === 'crlf' ? '\r\n' : '\n'}`);
    return {
      spec,
      periodMs,
      phaseMs: Math.floor(signalRng.between(0, periodMs / 1000)) * 1000,
      fd,
      rng: signalRng,
      stuckValue: null,
      lastLine: '',
    };
  });
  let rows = 0;
  let bytes = 0;
  const stuckTruth = new Map<number, LoggedTruth>();
  for (let d = 0; d < job.days; d++) {
    const dayStart = job.start + d * DAY_MS;
    const day = model.simulateDay(dayStart);
    const prefix = datePrefix(dayStart);
    for (const w of writers) {
      const [sample, decimals] = samplerFor(w.spec.signal, job.profile);
      const lines: string[] = [];
      for (let t = dayStart + w.phaseMs; t < dayStart + DAY_MS; t += w.periodMs) {
        // Jitter of about 1 % of the period, and now and then a missed sample.
        const at = t + Math.round(w.rng.normal(0, w.periodMs / 100) / 1000) * 1000;
        if (w.rng.next() < 0.002 || at < dayStart || at >= dayStart + DAY_MS) continue;
        if (activeFault(job.faults, 'offline_gap', at)) continue;
        const k = Math.min(TICKS_PER_DAY - 1, Math.floor((at - dayStart) / TICK_MS));
        const value = sample({
          model,
          day,
          k,
          t: at,
          rng: w.rng,
          faults: job.faults,
          hours: (at - job.start) / 3_600_000,
        });
        let text = value.toFixed(decimals);
        const stuck = activeFault(job.faults, 'sensor_stuck', at);
        if (stuck && stuck.signal === w.spec.signal) {
          noteTruth(stuckTruth, stuck.start, Number(text), 10 ** -decimals);
          text = w.stuckValue ??= text;
        } else w.stuckValue = null;
        lines.push(`${prefix} ${CLOCK[Math.floor((at - dayStart) / 1000)]},${text}`);
      }
      if (job.dirt) dirtyLines(DIRT_BY_SIGNAL[w.spec.signal], lines, w.rng);
      const last = d === job.days - 1;
      const cutOff = last && job.dirt && DIRT_BY_SIGNAL[w.spec.signal] === 'cut_off_last_line' && lines.length > 0;
      const eol = job.dirt && DIRT_BY_SIGNAL[w.spec.signal] === 'crlf' ? '\r\n' : '\n';
      let chunk = lines.length ? lines.join(eol) + eol : '';
      // A logger killed mid-write: the last line loses its tail and its newline.
      if (cutOff) chunk = chunk.slice(0, chunk.length - eol.length - 2);
      if (chunk) bytes += writeSync(w.fd, chunk);
      rows += lines.length;
    }
  }
  for (const w of writers) closeSync(w.fd);
  return {
    deviceId: job.deviceId,
    files: writers.length,
    rows,
    bytes,
    stuckTruth: [...stuckTruth].map(([start, truth]) => ({ start, truth })),
  };
}

/** Widens the range of what a frozen sensor would have logged by one more true reading. */
function noteTruth(truths: Map<number, LoggedTruth>, start: number, value: number, resolution: number): void {
  const known = truths.get(start);
  if (!known) truths.set(start, { min: value, max: value, resolution });
  else {
    known.min = Math.min(known.min, value);
    known.max = Math.max(known.max, value);
  }
}
