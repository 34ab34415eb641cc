import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.hishamos/**',
      '.nx/**',
      'libs/contracts/src/gen/**',
      '**/*.js',
      '**/*.mjs',
      'services/agent-gateway/console/**',
      'test-artifacts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through the validated env DTO (libs/platform config).',
        },
      ],
      'no-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    files: [
      '**/*.spec.ts',
      '**/*.int-spec.ts',
      '**/test/**/*.ts',
      'bench/**/*.ts',
      'e2e/**/*.ts',
      'libs/platform/src/config/**/*.ts',
      'libs/cli/src/**/*.ts',
      'libs/testing/src/**/*.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
