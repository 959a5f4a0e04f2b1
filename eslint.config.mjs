// One lint setup for every tier: the functions, the emulator, the page and the tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      'emulator/dist/**',
      'cloudfunctions/*/index.js',
      'miniprogram/**/*.js',
      'coverage/**',
      '.wxcloud-emulator/**',
      '.stryker-tmp/**',
      'reports/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  {
    // The package's committed bin entry: plain CommonJS that loads the built CLI.
    files: ['emulator/bin/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Function folders as DevTools uploads them: CommonJS `exports.main`.
    files: [
      'tests/fixtures/functions/**/*.js',
      'tests/fixtures/sdk-functions/**/*.js',
      'tests/fixtures/platform-functions/**/*.js',
      'tests/fixtures/env-functions/**/*.js',
    ],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { exports: 'writable', Buffer: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-eval': 'error',
      'no-new-func': 'error',
    },
  },
);
