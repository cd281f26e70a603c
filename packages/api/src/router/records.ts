// Named so the emitted .d.ts can refer to tRPC's internal types (TS2742) rather than a node_modules path.
import type {} from '@trpc/server/unstable-core-do-not-import';
import type { RecordByKind, RecordKind } from '@bess/core';
import { tracked } from '@trpc/server';
import { batchInput, streamInput } from '../schemas.js';
import { batch, kindDevices } from '../service.js';
import { openStream } from '../streaming/index.js';
import { publicProcedure, router, toTRPCError } from '../trpc.js';

/** `bms` and `pcs` share one shape: devices, batch and stream over their aligned records. */
export function recordRouter<K extends RecordKind>(kind: K) {
  return router({
    devices: publicProcedure.query(({ ctx }) => kindDevices(ctx.dataset, kind)),
    batch: publicProcedure.input(batchInput).query(({ ctx, input }) => batch(ctx.dataset, kind, input)),
    stream: publicProcedure.input(streamInput).subscription(async function* ({ ctx, input, signal }) {
      // Over WebSocket, once tRPC has sent the first event, later ones go straight to the socket.
      const countSent = () => ctx.metrics?.eventsSent.inc({ kind });
      const connection = ctx.connection;
      let opened: ReturnType<typeof openStream>;
      try {
        opened = openStream(ctx, kind, input, connection && ((head) => connection.sink(head, countSent)));
      } catch (error) {
        throw toTRPCError(error);
      }
      const { subscription, close } = opened;
      try {
        for (let event = await subscription.next(signal); event; event = await subscription.next(signal)) {
          countSent();
          // The hub streams this kind's records only (openStream above).
          yield tracked(event.id, subscription.recordFor(event) as RecordByKind[K]);
        }
      } catch (error) {
        throw toTRPCError(error);
      } finally {
        close();
      }
    }),
  });
}
