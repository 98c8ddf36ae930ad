import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.serverless/', '.esbuild/', 'out/', 'coverage/', '.build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['bin/**/*.js', '*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The core is pure: no SDK, no environment, no wall clock.
    files: ['lib/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@aws-sdk/*', '@smithy/*', '@kubernetes/*', 'node:fs', 'node:fs/*', 'fs'] }],
      'no-restricted-properties': ['error',
        { object: 'process', property: 'env', message: 'The core reads no environment: pass values in.' },
        { object: 'Date', property: 'now', message: 'The core takes time as a parameter.' },
        { object: 'Math', property: 'random', message: 'The core takes a seed.' }],
    },
  },
);
