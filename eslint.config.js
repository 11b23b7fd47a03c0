// Lint with the TypeScript-aware rules; typescript-eslint needs the TypeScript JS API (pinned to ~6.0).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Only the configuration module may read the environment.
    files: ['server/**/*.ts', 'routes/**/*.ts', 'models/**/*.ts', 'seeders/**/*.ts', 'migrations/**/*.ts'],
    ignores: ['server/config.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration from server/config.ts' }],
    },
  },
  {
    files: ['assets/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Entry points speak to the operator on the console (one-line start-up errors).
    files: ['test/**/*.ts', 'bench/**/*.ts', 'server/cli/**/*.ts', 'server/index.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
)
