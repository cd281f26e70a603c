import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import type { HtmlTagDescriptor, Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

// The catalogue is plain TypeScript with no Node imports: the dashboard takes it from source,
// so chart labels, units and limits come from the same file the engine uses.
const catalog = fileURLToPath(new URL('../../packages/core/src/catalog.ts', import.meta.url));

/**
 * Links the dashboard chunk and what it imports from index.html, so they download while the small
 * entry runs (main.tsx) rather than once it has run and asked for them.
 */
function preloadDashboard(): Plugin {
  return {
    name: 'preload-dashboard',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, { bundle }) {
        if (!bundle) return [];
        const chunks = new Map(
          Object.values(bundle).flatMap((c) => (c.type === 'chunk' ? [[c.fileName, c] as const] : [])),
        );
        const dashboard = [...chunks.values()].find((c) => c.facadeModuleId?.endsWith('/src/dashboard.tsx'));
        const files = new Set<string>();
        const visit = (file: string) => {
          if (files.has(file) || chunks.get(file)?.isEntry) return;
          files.add(file);
          for (const next of chunks.get(file)?.imports ?? []) visit(next);
        };
        if (dashboard) visit(dashboard.fileName);
        return [...files].map((file): HtmlTagDescriptor => ({
          tag: 'link',
          attrs: { rel: 'modulepreload', crossorigin: true, href: `/${file}` },
          injectTo: 'head',
        }));
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), preloadDashboard()],
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
