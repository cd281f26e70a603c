import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Written into tRPC's WebSocket adapter by patches/@trpc__server@*.patch. */
const PATCH_MARKER = 'bess patch: race each iterator.next()';

/**
 * Whether the WebSocket adapter this process loads carries the repository's tRPC patch. Without it
 * streams still work, with a third more CPU at 5,000 subscribers, so the server logs an error at
 * start-up and a test fails; an upgrade of @trpc/server must carry the patch forward or drop it.
 */
export function trpcPatchApplied(): boolean {
  const adapter = fileURLToPath(import.meta.resolve('@trpc/server/adapters/ws'));
  const source = readFileSync(adapter, 'utf8');
  // The adapter's entry re-exports a build chunk whose name is a content hash: follow its imports.
  const chunks = [...source.matchAll(/from\s+["'](\.{1,2}\/[^"']+)["']/g)].map((m) => resolve(dirname(adapter), m[1]!));
  return [adapter, ...chunks].some((file) => readFileSync(file, 'utf8').includes(PATCH_MARKER));
}
