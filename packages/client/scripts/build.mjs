// Builds @bess/client from @bess/api's client module (packages/api/src/client.ts, its one
// definition): the JavaScript as compiled, which may import only this package's dependencies, and
// the declarations bundled with every type they name from the server's packages, so installing the
// client brings none of the server.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { generateDtsBundle } = require('dts-bundle-generator');
const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');
const manifest = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8'));
const allowed = new Set(Object.keys(manifest.dependencies));
const SERVER_PACKAGES = ['@bess/api', '@bess/core', '@bess/alarms'];
const INLINED = [...SERVER_PACKAGES, '@trpc/client'];

const jsPath = require.resolve('@bess/api/client');
const js = readFileSync(jsPath, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
for (const [, specifier] of js.matchAll(/^\s*(?:import|export)\b[^'"]*?['"]([^'"]+)['"]/gm)) {
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  if (!allowed.has(name))
    throw new Error(`${jsPath} imports ${specifier}, which is not a dependency of ${manifest.name}`);
}

const [dts] = generateDtsBundle(
  [
    {
      filePath: jsPath.replace(/\.js$/, '.d.ts'),
      libraries: { inlinedLibraries: INLINED },
      output: { noBanner: true, exportReferencedTypes: false },
    },
  ],
  { preferredConfigPath: join(here, '..', 'tsconfig.bundle.json') },
);
for (const name of SERVER_PACKAGES)
  if (dts.includes(`"${name}`) || dts.includes(`'${name}`)) throw new Error(`the bundled types still import ${name}`);

mkdirSync(dist, { recursive: true });
writeFileSync(join(dist, 'index.js'), js);
writeFileSync(join(dist, 'index.d.ts'), dts);
console.log(`@bess/client: dist/index.js ${js.length} B, dist/index.d.ts ${dts.length} B`);
