import { BMS_SIGNALS, DEVICE_ID, PCS_SIGNALS, SIGNAL_NAME, type RecordKind, type SignalSpec } from '@bess/core';
import { z } from 'zod';

/**
 * Every input and record shape of the API, derived from the catalogue. The
 * tRPC procedures, the REST routes and the OpenAPI document all use these.
 */

/** Device ids look like folder names; anything else (paths, NUL, unicode tricks) is refused before lookup. */
export const deviceId = z
  .string()
  .min(1)
  .max(128)
  .regex(DEVICE_ID, 'not a device id')
  .describe('Cabinet id, e.g. ZHPESS232A230002');
export const signalName = z.string().min(1).max(128).regex(SIGNAL_NAME, 'not a signal name');

/** A time: epoch milliseconds or an ISO 8601 string (zone-less means UTC). */
export const time = z
  .union([z.number().finite(), z.string().max(40)])
  .transform((value, ctx) => {
    if (typeof value === 'number') return value;
    const text = /[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
    const day = /^(\d{4})-(\d\d)-(\d\d)/.exec(value);
    const ms = day ? Date.parse(text) : NaN;
    // Date.parse rolls 2024-02-30 over to March 1: a day that does not exist is an error, not a guess.
    const real = day && new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])));
    if (
      Number.isNaN(ms) ||
      !real ||
      real.getUTCMonth() !== Number(day[2]) - 1 ||
      real.getUTCDate() !== Number(day[3])
    ) {
      ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time or epoch milliseconds' });
      return z.NEVER;
    }
    return ms;
  })
  .describe('ISO 8601 time (UTC when zone-less) or epoch milliseconds');

/** A UTC month (`YYYY-MM`) or day (`YYYY-MM-DD`) as the range it covers (epoch ms, `to` inclusive). */
const calendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}(-\d{2})?$/, 'expected YYYY-MM or YYYY-MM-DD')
  .transform((value, ctx) => {
    const [y, m, d] = value.split('-').map(Number) as [number, number, number | undefined];
    const from = Date.UTC(y, m - 1, d ?? 1);
    const check = new Date(from);
    if (check.getUTCMonth() !== m - 1 || (d !== undefined && check.getUTCDate() !== d)) {
      ctx.addIssue({ code: 'custom', message: `${value} is not a calendar date` });
      return z.NEVER;
    }
    const to = d === undefined ? Date.UTC(y, m, 1) : Date.UTC(y, m - 1, d + 1);
    return { from, to: to - 1 };
  })
  .describe('Only this UTC month (YYYY-MM) or day (YYYY-MM-DD), as the prototype filtered');

export const batchInput = z
  .object({
    deviceId,
    batchSize: z.number().int().min(1).max(1000).default(100).describe('Records per page (1..1000)'),
    skip: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe('Records to skip'),
    tail: z
      .boolean()
      .default(false)
      .describe('Page back from the newest record: skip counts from the end (records stay oldest first)'),
    from: time.optional(),
    to: time.optional(),
    date: calendarDate.optional(),
    step: z
      .number()
      .min(1)
      .max(31_536_000)
      .optional()
      .describe('Grid step in seconds; default: the fastest signal’s measured period'),
  })
  .refine((v) => v.from === undefined || v.to === undefined || v.from <= v.to, {
    message: 'from must not be after to',
    path: ['from'],
  });

export const streamInput = z.object({
  deviceId,
  interval: z.number().min(0.1).max(10).default(2).describe('Seconds between replayed records (0.1..10)'),
  from: time.optional().describe('Replay start; default the first record'),
  step: z.number().min(1).max(31_536_000).optional(),
  live: z.boolean().default(false).describe('Follow the files: push each new record as it is logged'),
  /** Set by tRPC clients when they reconnect: the id of the last event they received. */
  lastEventId: z.string().max(64).nullish(),
});

export const seriesInput = z
  .object({
    deviceId,
    signals: z.array(signalName).min(1).max(24),
    from: time,
    to: time,
    maxPoints: z.number().int().min(10).max(5000).default(1000),
  })
  .refine((v) => v.from <= v.to, { message: 'from must not be after to', path: ['from'] });

export const deviceInput = z.object({ deviceId });

function recordSchema(signals: readonly SignalSpec[]) {
  const shape: Record<string, z.ZodType> = { timestamp: z.string().describe('ISO 8601, UTC') };
  for (const s of signals)
    shape[s.field!] = z.number().nullable().describe(`${s.label} (${s.unit}); null when no fresh reading`);
  return z.object(shape);
}
export const RECORD_SCHEMAS: Record<RecordKind, z.ZodObject> = {
  bms: recordSchema(BMS_SIGNALS),
  pcs: recordSchema(PCS_SIGNALS),
};

export type BatchInput = z.output<typeof batchInput>;
export type StreamInput = z.output<typeof streamInput>;
