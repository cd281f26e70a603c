// Named so the emitted .d.ts can refer to tRPC's internal types (TS2742) rather than a node_modules path.
import type {} from '@trpc/server/unstable-core-do-not-import';
import { alarmsRouter } from './router/alarms.js';
import { analyticsRouter } from './router/analytics.js';
import { cellsRouter } from './router/cells.js';
import { devicesRouter } from './router/devices.js';
import { historyRouter } from './router/history.js';
import { recordRouter } from './router/records.js';
import { router } from './trpc.js';

export const appRouter = router({
  bms: recordRouter('bms'),
  pcs: recordRouter('pcs'),
  devices: devicesRouter,
  history: historyRouter,
  cells: cellsRouter,
  analytics: analyticsRouter,
  alarms: alarmsRouter,
});

export type AppRouter = typeof appRouter;
