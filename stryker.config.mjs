// Mutation testing of the money and security code (issue 19): `npm run mutation`, not part of
// `npm test`. StrykerJS 9.6.1: its 10.x needs Node 22, and we support Node 20; its jest runner
// drives our jest 30. Scope: the files in `mutate`, exercised by the tests stryker.jest.config.js
// lists (unit tier, emulator unit tests, and the rules/realtime integration files that run the
// emulator from source). Incremental: a rerun reuses reports/stryker-incremental.json and only
// tests mutants whose code or tests changed. Concurrency 2: the machine is shared.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'stryker.jest.config.js',
    enableFindRelatedTests: false,
  },
  coverageAnalysis: 'perTest',
  // Static mutants (module-level values such as order-state's TABLE) would each need the whole
  // test set (~50 s) and take three quarters of the run: left out and reported as ignored. The
  // TABLE is pinned entry by entry by tests/unit/order-state.test.ts's independently written
  // EXPECTED table instead.
  ignoreStatic: true,
  // The emulator's rules (emulator/src/database/rules/*.ts) and realtime auth
  // (emulator/src/database/realtime/index.ts) are covered only by integration files that start an
  // emulator per run: measured at about 5 hours for their ~1300 mutants on this shared 2-core
  // machine, so they are out of this run; `npx stryker run stryker.config.mjs --mutate
  // emulator/src/database/rules/index.ts` with those test files added to stryker.jest.config.js
  // runs them where there is time.
  mutate: ['server/order-state.ts', 'server/payments.ts', 'emulator/src/pay/callbacks.ts'],
  concurrency: 2,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true },
  tempDirName: '.stryker-tmp',
  timeoutMS: 10000,
  ignorePatterns: [
    'coverage',
    'reports',
    'bench/results',
    '.wxcloud-emulator',
    'test-results',
    'tests/fixtures/sdk-functions/.installed',
  ],
  thresholds: { high: 90, low: 80, break: null },
};
