// Type-checking is `tsc`'s job (npm test runs it first); jest only transpiles.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  // Builds the bundles the integration, page and e2e tiers run, so `npx jest` tests fresh code.
  globalSetup: '<rootDir>/tests/support/global-setup.mjs',
  projects: [
    {
      displayName: 'node',
      testEnvironment: 'node',
      transform,
      testMatch: [
        '<rootDir>/tests/**/*.test.ts',
        '<rootDir>/server/**/*.test.ts',
        '<rootDir>/emulator/src/**/*.test.ts',
      ],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/tests/page/', '<rootDir>/tests/e2e/'],
    },
    {
      displayName: 'page',
      testEnvironment: 'jsdom',
      transform,
      testMatch: ['<rootDir>/tests/page/**/*.test.ts'],
    },
    {
      // Real-browser tests (Debian's Chromium through playwright-core).
      displayName: 'e2e',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'],
    },
  ],
};
