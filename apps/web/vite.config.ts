import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The catalogue is plain TypeScript with no Node imports: the dashboard takes it from source,
// so chart labels, units and limits come from the same file the engine uses.
const catalog = fileURLToPath(new URL('../../packages/core/src/catalog.ts', import.meta.url));

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { '@bess/core/catalog': catalog } },
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 700 },
  server: {
    port: 5173,
    proxy: {
      '/trpc': { target: 'http://127.0.0.1:8002', ws: true },
      '/bms': 'http://127.0.0.1:8002',
      '/pcs': 'http://127.0.0.1:8002',
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
