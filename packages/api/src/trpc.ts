import { BessError, type BessDataset } from '@bess/core';
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { AlarmStore, Notifier } from '@bess/alarms';
import { hasRole, type Identity, type Role } from './ops/auth.js';
import type { ServerMetrics } from './ops/metrics.js';
import type { Sites } from './sites.js';
import type { ClientLimiter } from './ops/rate-limit.js';
import { TurnRefusedError, type FairTurns } from './ops/fair-turns.js';
import { GateFullError, type WorkGate } from './ops/work-gate.js';
import { StreamEndedError, SubscriptionRefusedError, type StreamHub, type WsConnection } from './streaming/index.js';

export interface Context {
  dataset: BessDataset;
  hub: StreamHub;
  metrics?: ServerMetrics;
  limiter?: ClientLimiter;
  /** The budget heavy queries share (heavyProcedure). */
  workGate: WorkGate;
  /** Queries take turns with the rest of the server's work (see FairTurns). */
  turns: FairTurns;
  /** Who is calling, for rate limits: the API key's digest prefix or the remote address. */
  clientId: string;
  /** The WebSocket connection the call came over, if any: streams write their events to it directly. */
  connection?: WsConnection;
  /** Whose key the call came with: the actor on alarm changes, and what it may do. */
  identity: Identity;
  /** Persisted alarms, when the server runs them. */
  alarms?: AlarmServices;
  /** Where each cabinet stands (its site's time zone), as configured. */
  sites: Sites;
}

export interface AlarmServices {
  store: AlarmStore;
  notifier: Notifier | null;
}

/** The input field a failure is about: the first zod issue's path, or the engine's field. */
function failedField(error: unknown): string | undefined {
  if (error instanceof ZodError) return error.issues[0]?.path.join('.') || undefined;
  if (error instanceof BessError) return error.field;
  return undefined;
}

function zodMessage(error: ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

// The root context is `object`, so AppRouter's type (which clients import) names nothing of the
// server; procedures see the full Context through `withContext` below.
const t = initTRPC.context<object>().create({
  errorFormatter({ shape, error }) {
    const field = failedField(error.cause);
    return {
      ...shape,
      message: error.cause instanceof ZodError ? zodMessage(error.cause) : shape.message,
      data: { ...shape.data, stack: undefined, field: field ?? null },
    };
  },
});

/** Engine errors become typed tRPC errors (NOT_FOUND, BAD_REQUEST); anything else stays a 500. */
export function toTRPCError(error: unknown): unknown {
  if (error instanceof BessError) return new TRPCError({ code: error.code, message: error.message, cause: error });
  if (error instanceof StreamEndedError)
    return new TRPCError({ code: 'NOT_FOUND', message: error.message, cause: error });
  if (error instanceof SubscriptionRefusedError)
    return new TRPCError({ code: 'TOO_MANY_REQUESTS', message: error.message, cause: error });
  return error;
}

const engineErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof BessError) throw toTRPCError(result.error.cause);
  return result;
});

// Every adapter's createContext builds a Context (request-access.ts contextFor).
const withContext = t.procedure.use(({ ctx, next }) => next({ ctx: ctx as Context }));

const limited = withContext.use(async ({ ctx, type, path, next }) => {
  // Refusals take turns too: 800 of them answered in one go held the loop for 130 ms.
  if (type !== 'subscription') {
    try {
      await ctx.turns.turn(ctx.clientId);
    } catch (error) {
      if (!(error instanceof TurnRefusedError)) throw error;
      ctx.metrics?.rateLimited.inc({ kind: 'turns' });
      // Over WebSocket the rest of what it sent would be refused one by one: the connection ends instead.
      ctx.connection?.closeForPolicy('too many calls waiting');
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: error.message });
    }
  }
  if (type !== 'subscription' && ctx.limiter && !ctx.limiter.allowQuery(ctx.clientId)) {
    ctx.metrics?.rateLimited.inc({ kind: 'query' });
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'rate limit exceeded; slow down' });
  }
  const started = performance.now();
  const result = await next();
  if (type !== 'subscription')
    ctx.metrics?.queryLatency.observe((performance.now() - started) / 1000, { route: `trpc:${path}` });
  return result;
});

/** Heavy queries wait for a place in the work gate; a client over its share is refused at once. */
const gated = (procedure: typeof publicProcedure) =>
  procedure.use(async ({ ctx, next }) => {
    try {
      return await ctx.workGate.run(ctx.clientId, () => next());
    } catch (error) {
      if (!(error instanceof GateFullError)) throw error;
      ctx.metrics?.rateLimited.inc({ kind: error.scope === 'client' ? 'heavy_client' : 'heavy_server' });
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: error.message });
    }
  });

export const router = t.router;
export const publicProcedure = limited.use(engineErrors);
/** For queries that scan ranges (anomalies, forecasts, cell statistics): they run within the work gate's budget. */
export const heavyProcedure = gated(publicProcedure);

/** Procedures that change state: the key's role must be at least `role` (FORBIDDEN otherwise). */
export function roleProcedure(role: Role) {
  return publicProcedure.use(({ ctx, next }) => {
    if (!hasRole(ctx.identity, role))
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `this needs the ${role} role; key ${ctx.identity.name} is a ${ctx.identity.role}`,
      });
    return next();
  });
}
