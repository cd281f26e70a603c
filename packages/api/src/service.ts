import {
  BessError,
  BMS_SIGNALS,
  isoTime,
  PCS_SIGNALS,
  type BessDataset,
  type DeviceInfo,
  type RecordKind,
} from '@bess/core';
import type { BatchInput } from './schemas.js';
import { NO_SITES, siteZone, type Sites } from './sites.js';

/** The engine calls behind both the tRPC procedures and the REST routes (one definition each). */

const KIND_SIGNALS = { bms: BMS_SIGNALS, pcs: PCS_SIGNALS } as const;

export function hasKind(info: DeviceInfo, kind: RecordKind): boolean {
  return kind === 'bms' ? info.hasBms : info.hasPcs;
}

/** Devices that log a record kind, with that kind's signals, time span and row counts. */
export function kindDevices(dataset: BessDataset, kind: RecordKind) {
  const wanted = new Set(KIND_SIGNALS[kind].map((s) => s.signal));
  return dataset
    .devices()
    .filter((d) => hasKind(d, kind))
    .map((d) => {
      const signals = d.signals.filter((s) => wanted.has(s.signal));
      return {
        id: d.id,
        first: d.first === null ? null : isoTime(d.first),
        last: d.last === null ? null : isoTime(d.last),
        stepSeconds: dataset.defaultStepMs(d.id, kind) / 1000,
        signals: signals.map((s) => ({
          signal: s.signal,
          field: s.spec.field ?? null,
          unit: s.spec.unit,
          rows: s.rows,
        })),
        rows: signals.reduce((n, s) => n + s.rows, 0),
      };
    });
}

export async function batch<K extends RecordKind>(dataset: BessDataset, kind: K, input: BatchInput) {
  // `date` narrows whatever `from` and `to` allow.
  const from = maxDefined(input.from, input.date?.from);
  const to = minDefined(input.to, input.date?.to);
  if (from !== undefined && to !== undefined && from > to)
    throw new BessError('BAD_REQUEST', 'date and from/to do not overlap', 'date');
  const query = {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(input.step !== undefined ? { stepMs: Math.round(input.step * 1000) } : {}),
  };
  // A tail page counts its skip from the newest record; the grid is cached, so the count is cheap.
  const skip = input.tail
    ? Math.max(
        0,
        (await dataset.page(input.deviceId, kind, { ...query, skip: 0, limit: 1 })).total -
          input.skip -
          input.batchSize,
      )
    : input.skip;
  const page = await dataset.page(input.deviceId, kind, { ...query, skip, limit: input.batchSize });
  return {
    deviceId: page.deviceId,
    total: page.total,
    skip: page.skip,
    batchSize: input.batchSize,
    stepSeconds: page.stepMs / 1000,
    records: page.records,
  };
}

/**
 * A cabinet's span, the kinds it logs, a count of its signals and its site's time zone (null when
 * none is configured): light enough to poll.
 */
export function deviceInfo(dataset: BessDataset, deviceId: string, sites: Sites = NO_SITES) {
  const d = dataset.device(deviceId);
  return {
    id: d.id,
    timeZone: siteZone(sites, d.id),
    first: d.first === null ? null : isoTime(d.first),
    last: d.last === null ? null : isoTime(d.last),
    hasBms: d.hasBms,
    hasPcs: d.hasPcs,
    hasCells: d.hasCells,
    signals: d.signals.length,
  };
}

/** Per-device summary: signals with measured periods, coverage, gaps and data quality. */
export function deviceSummary(dataset: BessDataset, deviceId: string, sites: Sites = NO_SITES) {
  const d = dataset.device(deviceId);
  return {
    ...deviceInfo(dataset, deviceId, sites),
    signals: d.signals.map((s) => ({
      signal: s.signal,
      subsystem: s.spec.subsystem,
      field: s.spec.field ?? null,
      label: s.spec.label,
      unit: s.spec.unit,
      rows: s.rows,
      first: s.first === null ? null : isoTime(s.first),
      last: s.last === null ? null : isoTime(s.last),
      periodSeconds: s.medianPeriodMs === null ? null : s.medianPeriodMs / 1000,
      coverage: s.coverage,
      gaps: s.gaps,
      quality: s.quality,
    })),
  };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
