import { describe, expect, it } from 'vitest';
import { trpcPatchApplied } from './trpc-patch.js';

describe('the tRPC WebSocket patch', () => {
  it('is applied to the adapter this server loads (pnpm install applies patches/; an upgrade must carry it)', () => {
    expect(trpcPatchApplied()).toBe(true);
  });
});
