import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'reports/', '.tools/', 'stack/dist/', 'coverage/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '.*.cjs', 'bin/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself tracks.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `return promise` inside try/using would dispose before the promise settles.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      'no-console': 'error',
    },
  },
  {
    // The CLI, report writers, benchmarks and scripts are where output to the terminal belongs.
    files: ['src/cli/**', 'src/report/**', 'bench/**', 'scripts/**', 'bin/**', 'src/core/logger.ts'],
    rules: { 'no-console': 'off' },
  },
);
