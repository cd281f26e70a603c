import type { ThrowawayPostgres } from '@bess/test-servers';
import { openPglite, openPostgres, type SqlDatabase } from '../db.js';

export { freePort, startPostgres } from '@bess/test-servers';

export type Engine = 'pglite' | 'postgres';

/** Opens a fresh database of `engine`: PGlite in `dir` (or memory), or a new database on `server`. */
export async function openFresh(
  engine: Engine,
  server: ThrowawayPostgres | null,
  dir?: string,
): Promise<{ open: () => Promise<SqlDatabase> }> {
  if (engine === 'pglite') return { open: () => openPglite(dir ?? 'memory://') };
  const url = await server!.freshDatabase();
  return { open: () => openPostgres(url) };
}
