// The tests StrykerJS runs against mutants of the security rules (stryker.rules.config.mjs): the
// rules engine's in-process tests beside its sources (milliseconds per mutant, so every rules
// mutant can be tried). tests/integration/rules.test.ts drives the same decisions through the real
// SDK but runs the bundle in emulator/dist, which a mutant never reaches.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  testEnvironment: 'node',
  transform,
  testMatch: ['<rootDir>/emulator/src/database/rules/*.test.ts'],
};
