// Named so the emitted .d.ts can refer to tRPC's internal types (TS2742) rather than a node_modules path.
import type {} from '@trpc/server/unstable-core-do-not-import';
import type { RecordKind } from '@bess/core';
import { tracked, TRPCError } from '@trpc/server';
import { batchInput, streamInput } from '../schemas.js';
import { batch, hasKind, kindDevices } from '../service.js';
import { publicProcedure, router, toTRPCError, type Context } from '../trpc.js';
import type { StreamInput } from '../schemas.js';
import type { DirectSinkFactory, StreamRequest } from '../stream.js';

/** The grid step a stream's input asks for (ms), if it names one. */
export function requestedStepMs(input: StreamInput): number | undefined {
  return input.step !== undefined ? Math.round(input.step * 1000) : undefined;
}

/** Where a stream starts: after the last event a reconnecting client saw, at `from`, at the start, or live. */
function streamStart(ctx: Context, kind: RecordKind, input: StreamInput, stepMs: number): StreamRequest['start'] {
  if (input.lastEventId) {
    const last = Date.parse(input.lastEventId);
    if (!Number.isNaN(last)) return { position: ctx.dataset.positionOf(input.deviceId, kind, last + 1, stepMs) };
  }
  if (input.live) return 'live';
  return { position: input.from === undefined ? 0 : ctx.dataset.positionOf(input.deviceId, kind, input.from, stepMs) };
}

/**
 * Opens a hub subscription after checking the device and the client's subscription cap.
 * `directSink`: for subscriptions whose events go to the client as they are (see Subscription.recordFor).
 */
export function openStream(ctx: Context, kind: RecordKind, input: StreamInput, directSink?: DirectSinkFactory) {
  let request: StreamRequest;
  try {
    const info = ctx.dataset.device(input.deviceId);
    if (!hasKind(info, kind))
      throw new TRPCError({ code: 'NOT_FOUND', message: `device ${info.id} logs no ${kind.toUpperCase()} data` });
    const stepMs = requestedStepMs(input) ?? ctx.dataset.defaultStepMs(input.deviceId, kind);
    request = {
      kind,
      deviceId: input.deviceId,
      intervalMs: Math.round(input.interval * 1000),
      stepMs,
      start: streamStart(ctx, kind, input, stepMs),
    };
  } catch (error) {
    throw toTRPCError(error);
  }
  // One place admits a subscription: every transport (WebSocket, SSE, REST) opens its streams here.
  const release = ctx.limiter ? ctx.limiter.openSubscription(ctx.clientId) : () => {};
  if (!release) {
    ctx.metrics?.rateLimited.inc({ kind: 'subscription' });
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'too many concurrent subscriptions for this client' });
  }
  const subscription = ctx.hub.subscribe(request, directSink);
  ctx.metrics?.subscriptions.inc();
  return {
    subscription,
    close: () => {
      subscription.close();
      release();
      ctx.metrics?.subscriptions.dec();
    },
  };
}

/** `bms` and `pcs` share one shape: devices, batch and stream over their aligned records. */
export function recordRouter(kind: RecordKind) {
  return router({
    devices: publicProcedure.query(({ ctx }) => kindDevices(ctx.dataset, kind)),
    batch: publicProcedure.input(batchInput).query(({ ctx, input }) => batch(ctx.dataset, kind, input)),
    stream: publicProcedure.input(streamInput).subscription(async function* ({ ctx, input, signal }) {
      // Over WebSocket, once tRPC has sent the first event, later ones go straight to the socket.
      const countSent = () => ctx.metrics?.eventsSent.inc({ kind });
      const connection = ctx.connection;
      const { subscription, close } = openStream(
        ctx,
        kind,
        input,
        connection && ((head) => connection.sink(head, countSent)),
      );
      try {
        for (let event = await subscription.next(signal); event; event = await subscription.next(signal)) {
          countSent();
          yield tracked(event.id, subscription.recordFor(event));
        }
      } catch (error) {
        throw toTRPCError(error);
      } finally {
        close();
      }
    }),
  });
}
