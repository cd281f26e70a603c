import type { IncomingMessage, ServerResponse } from 'node:http';
import { BessError } from '@bess/core';
import { TRPCError } from '@trpc/server';
import { ZodError, type z } from 'zod';
import { BodyError, isRead, methodNotAllowed, readJsonBody, sendBodyError, sendDetail, sendJson } from './http-util.js';
import { hasRole } from './ops/auth.js';
import { parseQuery, pathSegment, queryInput, sendError } from './rest.js';
import { acknowledgeInput, alarmListInput, commentInput, services, shelveInput } from './router/alarms.js';
import type { Context } from './trpc.js';

/** A request body larger than this is refused (413): an acknowledgement is a few hundred bytes. */
const MAX_BODY_BYTES = 16 * 1024;
export const ALARM_LIST_PARAMS = {
  status: 'status',
  acknowledged: 'acknowledged',
  historical: 'historical',
  severity: 'severity',
  kind: 'kind',
  device_id: 'deviceId',
  from: 'from',
  to: 'to',
  cursor: 'cursor',
  limit: 'limit',
};

/**
 * Alarms over REST, the same schemas and store calls as `alarms.*`: `GET /alarms`, `GET /alarms/{id}`,
 * and `POST /alarms/{id}/acknowledge | comments | shelve` (operator keys). False when the path is not one.
 */
export async function handleAlarmsRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ctx: Context,
): Promise<boolean> {
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'alarms' || parts.length > 3) return false;
  try {
    const { store } = servicesOrUnavailable(ctx);
    if (parts.length === 1) {
      if (!isRead(req)) return methodNotAllowed(res, 'GET, HEAD');
      const { cursor, limit, ...filter } = parseQuery(
        alarmListInput,
        queryInput(url, ALARM_LIST_PARAMS, {}),
        ALARM_LIST_PARAMS,
      );
      sendJson(res, 200, await store.list(filter, limit, cursor));
      return true;
    }
    const id = pathSegment(parts[1]!, 'id');
    if (parts.length === 2) {
      if (!isRead(req)) return methodNotAllowed(res, 'GET, HEAD');
      sendJson(res, 200, await store.get(id));
      return true;
    }
    const action = parts[2];
    if (action !== 'acknowledge' && action !== 'comments' && action !== 'shelve') return false;
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    if (!hasRole(ctx.identity, 'operator')) {
      sendDetail(res, 403, `this needs the operator role; key ${ctx.identity.name} is a ${ctx.identity.role}`);
      return true;
    }
    const body = { ...(await readJsonBody(req, MAX_BODY_BYTES)), id };
    const actor = ctx.identity.name;
    if (action === 'acknowledge') {
      const input = bodyOf(acknowledgeInput, body);
      sendJson(res, 200, await store.acknowledge(input.id, actor, input.comment));
    } else if (action === 'comments') {
      const input = bodyOf(commentInput, body);
      sendJson(res, 201, await store.comment(input.id, actor, input.body));
    } else {
      const input = bodyOf(shelveInput, body);
      sendJson(res, 200, await store.shelve(input.id, actor, input.until));
    }
    return true;
  } catch (error) {
    if (error instanceof BodyError) sendBodyError(res, error);
    else if (error instanceof ZodError)
      sendDetail(
        res,
        422,
        error.issues.map((i) => ({ loc: ['body', String(i.path[0] ?? '')], msg: i.message, type: i.code })),
      );
    else sendError(res, error);
    return true;
  }
}

function servicesOrUnavailable(ctx: Context) {
  try {
    return services(ctx);
  } catch (error) {
    if (error instanceof TRPCError) throw new BessError('SERVICE_UNAVAILABLE', error.message);
    throw error;
  }
}

function bodyOf<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return schema.parse(body);
}
