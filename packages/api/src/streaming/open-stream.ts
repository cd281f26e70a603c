import { BessError, type BessDataset, type RecordKind } from '@bess/core';
import type { StreamInput } from '../schemas.js';
import { hasKind } from '../service.js';
import type { ServerMetrics } from '../ops/metrics.js';
import type { ClientLimiter } from '../ops/rate-limit.js';
import type { DirectSinkFactory, StreamHub, StreamRequest } from './hub.js';

/** What opening a stream needs of a request's context, whatever the transport. */
export interface StreamContext {
  dataset: BessDataset;
  hub: StreamHub;
  metrics?: ServerMetrics;
  limiter?: ClientLimiter;
  clientId: string;
}

/** A client already holds as many subscriptions as it may (TOO_MANY_REQUESTS, or HTTP 429). */
export class SubscriptionRefusedError extends Error {
  override readonly name = 'SubscriptionRefusedError';
}

/** The grid step a stream's input asks for (ms), if it names one. */
function requestedStepMs(input: StreamInput): number | undefined {
  return input.step !== undefined ? Math.round(input.step * 1000) : undefined;
}

/** Where a stream starts: after the last event a reconnecting client saw, at `from`, at the start, or live. */
function streamStart(ctx: StreamContext, kind: RecordKind, input: StreamInput, stepMs: number): StreamRequest['start'] {
  if (input.lastEventId) {
    const last = Date.parse(input.lastEventId);
    if (!Number.isNaN(last)) return { position: ctx.dataset.positionOf(input.deviceId, kind, last + 1, stepMs) };
  }
  if (input.live) return 'live';
  return { position: input.from === undefined ? 0 : ctx.dataset.positionOf(input.deviceId, kind, input.from, stepMs) };
}

/**
 * Opens a hub subscription after checking the device and the client's subscription cap. Throws
 * BessError (unknown device, no such kind) or SubscriptionRefusedError, whatever the transport.
 * `directSink`: for subscriptions whose events go to the client as they are (see Subscription.recordFor).
 */
export function openStream(ctx: StreamContext, kind: RecordKind, input: StreamInput, directSink?: DirectSinkFactory) {
  const info = ctx.dataset.device(input.deviceId);
  if (!hasKind(info, kind)) throw new BessError('NOT_FOUND', `device ${info.id} logs no ${kind.toUpperCase()} data`);
  const stepMs = requestedStepMs(input) ?? ctx.dataset.defaultStepMs(input.deviceId, kind);
  const request: StreamRequest = {
    kind,
    deviceId: input.deviceId,
    intervalMs: Math.round(input.interval * 1000),
    stepMs,
    start: streamStart(ctx, kind, input, stepMs),
  };
  // One place admits a subscription: every transport (WebSocket, SSE, REST) opens its streams here.
  const release = ctx.limiter ? ctx.limiter.openSubscription(ctx.clientId) : () => {};
  if (!release) {
    ctx.metrics?.rateLimited.inc({ kind: 'subscription' });
    throw new SubscriptionRefusedError('too many concurrent subscriptions for this client');
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
