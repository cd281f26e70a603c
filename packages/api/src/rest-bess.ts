import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AlignedRecord, DeviceInfo } from '@bess/core';
import { isRead, sendJson } from './http-util.js';
import { PROTOTYPE_FIELDS, PROTOTYPE_FLAGS, type BessRecord } from './prototype-fields.js';
import {
  pageEnvelope,
  parseQuery,
  pathSegment,
  queryInput,
  restPage,
  sendError,
  serveSse,
  STREAM_PARAMS,
} from './rest.js';
import { batchInput, streamInput } from './schemas.js';
import type { Context } from './trpc.js';

/**
 * The prototype's final surface, beside the `/bms` and `/pcs` routes: `GET /bess/devices`,
 * `GET /bess/{device_id}?batch_size=&skip=&date=` and `GET /bess/{device_id}/stream?interval=&date=`
 * (SSE), each record one grid time of the BMS stream with every subsystem's values as of that time
 * under the prototype's field names.
 */
export async function handleBessRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ctx: Context,
): Promise<boolean> {
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'bess' || parts.length < 2 || parts.length > 3) return false;
  if (!isRead(req)) return false;
  try {
    if (parts.length === 2 && parts[1] === 'devices') {
      sendJson(res, 200, {
        devices: ctx.dataset
          .devices()
          .filter((d) => d.hasBms)
          .map(describe),
      });
      return true;
    }
    const deviceId = pathSegment(parts[1]!, 'device_id');
    if (parts.length === 2) {
      const page = await restPage(ctx, 'bms', url, deviceId);
      sendJson(res, 200, { ...pageEnvelope(page), data: await merged(ctx, deviceId, page.records) });
      return true;
    }
    if (parts[2] !== 'stream') return false;
    const query = queryInput(url, { ...STREAM_PARAMS, date: 'date' }, { deviceId });
    // `date` starts the replay at that day or month, as the prototype's clients ask for it.
    const day =
      typeof query.date === 'string'
        ? parseQuery(batchInput, { deviceId, date: query.date }, { date: 'date' }).date
        : undefined;
    delete query.date;
    const input = parseQuery(
      streamInput,
      { ...query, ...(day && query.from === undefined ? { from: day.from } : {}) },
      STREAM_PARAMS,
    );
    await serveSse(req, res, ctx, 'bms', input, async (event) =>
      JSON.stringify((await merged(ctx, deviceId, [event.record]))[0]),
    );
    return true;
  } catch (error) {
    sendError(res, error);
    return true;
  }
}

function describe(d: DeviceInfo) {
  const rows = new Map(d.signals.map((s) => [s.signal, s.rows]));
  const present = PROTOTYPE_FIELDS.filter(([, signal]) => rows.has(signal));
  return {
    device_id: d.id,
    available_metrics: present.filter(([f]) => f.startsWith('bms_') || f.startsWith('pcs_')).map(([f]) => f),
    total_rows_per_metric: Object.fromEntries(present.map(([f, signal]) => [f, rows.get(signal) ?? 0])),
  };
}

/** Each record's every prototype field as of its time: the last reading at or before it, if still fresh. */
async function merged(ctx: Context, deviceId: string, records: readonly AlignedRecord[]): Promise<BessRecord[]> {
  const info = ctx.dataset.device(deviceId);
  const signals = new Map(info.signals.map((s) => [s.signal, s]));
  return Promise.all(
    records.map(async (record) => {
      const t = Date.parse(record.timestamp);
      const out: Record<string, string | number | boolean | null> = { timestamp: record.timestamp };
      for (const [field, signal] of PROTOTYPE_FIELDS) {
        const meta = signals.get(signal);
        const reading = meta ? await ctx.dataset.valueAt(deviceId, signal, t) : null;
        const v = reading && t - reading.t <= (meta!.staleAfterMs ?? Infinity) ? reading.v : null;
        out[field] = v !== null && PROTOTYPE_FLAGS.has(field) ? v !== 0 : v;
      }
      // Every field of PROTOTYPE_FIELDS was set just above.
      return out as BessRecord;
    }),
  );
}
