import { CABINET, cellSignal, type CellAddress } from '../catalog.js';
import { TimeSlicer } from '../time-slicer.js';
import { BessError, type BessDataset, type DeviceInfo } from '../types.js';

/** One cell at one instant (as-of, like the aligned records): null when it has no fresh reading. */
export interface CellReading {
  pack: number;
  cell: number;
  voltage: number | null;
  temperature: number | null;
}

export interface CellSnapshot {
  deviceId: string;
  at: number;
  cells: CellReading[];
  /** Pack medians, to judge each cell against its neighbours. */
  packMedian: { pack: number; voltage: number | null; temperature: number | null }[];
  voltageSpread: number | null;
  temperatureSpread: number | null;
}

export interface CellStat {
  pack: number;
  cell: number;
  mean: number;
  min: number;
  max: number;
  /** Mean minus the median of the pack's means. */
  deviation: number;
}

export interface CellStats {
  deviceId: string;
  from: number;
  to: number;
  voltage: CellStat[];
  temperature: CellStat[];
  /** Lowest mean voltage first. */
  weakest: CellStat[];
  /** Highest mean voltage first. */
  highest: CellStat[];
  /** Highest mean temperature first. */
  hottest: CellStat[];
  /** Max minus min of the cells' bucket means, per time bucket. */
  spread: { t: number[]; voltage: (number | null)[]; temperature: (number | null)[]; bucketMs: number };
}

const QUANTITIES: CellAddress['quantity'][] = ['voltage', 'temperature'];

function requireCells(info: DeviceInfo): Map<string, DeviceInfo['signals'][number]> {
  if (!info.hasCells) throw new BessError('NOT_FOUND', `device ${info.id} logs no per-cell data`, 'deviceId');
  return new Map(info.signals.map((s) => [s.signal, s]));
}

function addresses(): { pack: number; cell: number }[] {
  const out = [];
  for (let pack = 1; pack <= CABINET.packs; pack++)
    for (let cell = 1; cell <= CABINET.cellsPerPack; cell++) out.push({ pack, cell });
  return out;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function spreadOf(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length ? Math.max(...present) - Math.min(...present) : null;
}

/** All 260 cell voltages and temperatures at `at`: one seek per cell file, not a scan. */
export async function cellSnapshot(dataset: BessDataset, deviceId: string, at: number): Promise<CellSnapshot> {
  const signals = requireCells(dataset.device(deviceId));
  if (!Number.isFinite(at)) throw new BessError('BAD_REQUEST', 'at must be a time', 'at');
  const cells: CellReading[] = await Promise.all(
    addresses().map(async ({ pack, cell }) => {
      const reading: CellReading = { pack, cell, voltage: null, temperature: null };
      for (const quantity of QUANTITIES) {
        const info = signals.get(cellSignal(pack, cell, quantity));
        if (!info) continue;
        const found = await dataset.valueAt(deviceId, info.signal, at);
        if (found && at - found.t <= (info.staleAfterMs ?? 0)) reading[quantity] = found.v;
      }
      return reading;
    }),
  );
  const packMedian = [];
  for (let pack = 1; pack <= CABINET.packs; pack++) {
    const inPack = cells.filter((c) => c.pack === pack);
    packMedian.push({
      pack,
      voltage: median(inPack.flatMap((c) => (c.voltage === null ? [] : [c.voltage]))),
      temperature: median(inPack.flatMap((c) => (c.temperature === null ? [] : [c.temperature]))),
    });
  }
  return {
    deviceId,
    at,
    cells,
    packMedian,
    voltageSpread: spreadOf(cells.map((c) => c.voltage)),
    temperatureSpread: spreadOf(cells.map((c) => c.temperature)),
  };
}

/** Per-cell statistics over [from, to], rankings, and the spread over time in at most `maxPoints` buckets. */
export async function cellStats(
  dataset: BessDataset,
  deviceId: string,
  from: number,
  to: number,
  { maxPoints = 500, rank = 10 }: { maxPoints?: number; rank?: number } = {},
): Promise<CellStats> {
  const signals = requireCells(dataset.device(deviceId));
  if (!(from <= to)) throw new BessError('BAD_REQUEST', 'from must not be after to', 'from');
  const bucketMs = Math.max(1, Math.ceil((to - from + 1) / maxPoints));
  const result = { voltage: [] as CellStat[], temperature: [] as CellStat[] };
  // bucket index -> per quantity [min of means, max of means]
  const buckets = new Map<number, { voltage: [number, number] | null; temperature: [number, number] | null }>();

  const slicer = new TimeSlicer();
  for (const quantity of QUANTITIES) {
    const stats: CellStat[] = [];
    for (const { pack, cell } of addresses()) {
      const signal = cellSignal(pack, cell, quantity);
      if (!signals.has(signal)) continue;
      await slicer.pause();
      const series = await dataset.downsample(deviceId, signal, from, to, maxPoints);
      if (series.t.length === 0) continue;
      let sum = 0;
      let weight = 0;
      for (let i = 0; i < series.t.length; i++) {
        sum += series.mean[i]!;
        weight++;
        const b = Math.round((series.t[i]! - from) / bucketMs);
        const entry = buckets.get(b) ?? { voltage: null, temperature: null };
        const m = series.mean[i]!;
        const range = entry[quantity];
        entry[quantity] = range ? [Math.min(range[0], m), Math.max(range[1], m)] : [m, m];
        buckets.set(b, entry);
      }
      stats.push({
        pack,
        cell,
        mean: sum / weight,
        min: Math.min(...series.min),
        max: Math.max(...series.max),
        deviation: 0,
      });
    }
    for (let pack = 1; pack <= CABINET.packs; pack++) {
      const inPack = stats.filter((s) => s.pack === pack);
      const m = median(inPack.map((s) => s.mean)) ?? 0;
      for (const s of inPack) s.deviation = s.mean - m;
    }
    result[quantity] = stats;
  }
  const order = [...buckets.keys()].sort((a, b) => a - b);
  const byMean = (dir: 1 | -1) => (a: CellStat, b: CellStat) => dir * (a.mean - b.mean);
  return {
    deviceId,
    from,
    to,
    ...result,
    weakest: [...result.voltage].sort(byMean(1)).slice(0, rank),
    highest: [...result.voltage].sort(byMean(-1)).slice(0, rank),
    hottest: [...result.temperature].sort(byMean(-1)).slice(0, rank),
    spread: {
      bucketMs,
      t: order.map((b) => from + b * bucketMs),
      voltage: order.map((b) => {
        const r = buckets.get(b)!.voltage;
        return r ? r[1] - r[0] : null;
      }),
      temperature: order.map((b) => {
        const r = buckets.get(b)!.temperature;
        return r ? r[1] - r[0] : null;
      }),
    },
  };
}

export interface CellHistory {
  signal: string;
  bucketMs: number;
  t: number[];
  /** The cell's bucket means, minima and maxima. */
  mean: number[];
  min: number[];
  max: number[];
  /** The median of the bucket means of all cells in the same pack, per bucket. */
  packMedian: (number | null)[];
}

/** One cell's history next to its pack's median, bucketed like the history charts. */
export async function cellHistory(
  dataset: BessDataset,
  deviceId: string,
  address: CellAddress,
  from: number,
  to: number,
  maxPoints = 400,
): Promise<CellHistory> {
  const signals = requireCells(dataset.device(deviceId));
  if (!(from <= to)) throw new BessError('BAD_REQUEST', 'from must not be after to', 'from');
  const signal = cellSignal(address.pack, address.cell, address.quantity);
  if (!signals.has(signal)) throw new BessError('NOT_FOUND', `device ${deviceId} has no ${signal}`, 'cell');
  const own = await dataset.downsample(deviceId, signal, from, to, maxPoints);
  // Buckets start at `from` with the same width for every cell, so their times line up.
  const byBucket = new Map<number, number[]>();
  const slicer = new TimeSlicer();
  for (let cell = 1; cell <= CABINET.cellsPerPack; cell++) {
    const other = cellSignal(address.pack, cell, address.quantity);
    if (!signals.has(other)) continue;
    await slicer.pause();
    const series = await dataset.downsample(deviceId, other, from, to, maxPoints);
    series.t.forEach((t, i) => byBucket.set(t, [...(byBucket.get(t) ?? []), series.mean[i]!]));
  }
  return {
    signal,
    bucketMs: own.bucketMs,
    t: own.t,
    mean: own.mean,
    min: own.min,
    max: own.max,
    packMedian: own.t.map((t) => median(byBucket.get(t) ?? [])),
  };
}
