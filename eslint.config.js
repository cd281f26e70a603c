// One lint configuration for the whole workspace: typescript-eslint's type-checked rules
// plus the import boundaries between layers (see CONTRIBUTING.md, "Layout").
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const serverOnly = ['node:http', 'node:https', 'http', 'https', 'ws', '@trpc/*'];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/test-artifacts/**',
      'bench/data/**',
      'data/**',
      'packages/core/assembly/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'packages/*/vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      // Interface methods stay async without an await, so that a throw becomes a rejection.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // The data engine knows nothing of transports: HTTP, WebSockets and tRPC live in packages/api.
    files: ['packages/core/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: serverOnly, message: 'packages/core has no transport code.' }] },
      ],
    },
  },
  {
    // The browser bundle takes the catalogue and the router's *type* only, never server code.
    files: ['apps/web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@bess/api', allowTypeImports: true, message: 'The dashboard imports only types from @bess/api.' },
          ],
          patterns: [
            {
              regex: '^@bess/core(?!/catalog$)',
              message: 'The dashboard imports only @bess/core/catalog.',
            },
            {
              group: ['@bess/api/*', 'node:*', 'ws'],
              allowTypeImports: true,
              message: 'No server code in the browser bundle.',
            },
          ],
        },
      ],
    },
  },
);
