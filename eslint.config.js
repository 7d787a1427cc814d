// A small lint config: the recommended rules, `node:` imports, and no process exit outside the CLI entry.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', structuredClone: 'readonly', performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', fetch: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(assert|buffer|child_process|crypto|dns|events|fs|http|https|net|os|path|readline|stream|timers|tls|url|util|zlib|dgram|perf_hooks|worker_threads|sqlite|cluster|v8)(/.*)?$',
              message: 'Use the node: prefix for built-in modules.',
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // the console's browser modules: tsc checks their names against the DOM (checkJs in
    // src/authority/console/web/tsconfig.json), which no-undef could only do with a list of globals
    files: ['src/authority/console/web/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/main.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'Only src/cli/main.ts may exit the process.' }],
    },
  },
);
