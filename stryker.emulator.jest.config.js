// The tests StrykerJS runs against mutants of the emulator's money and security code
// (stryker.emulator.config.mjs): they run the emulator from its TypeScript sources in jest's own
// process, so a mutant in emulator/src reaches them (the bundle in emulator/dist never would).
// realtime.test.ts starts an emulator (seconds per mutant). The security rules' mutants run against
// their own in-process tests (stryker.rules.jest.config.js).
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  testEnvironment: 'node',
  transform,
  testMatch: [
    '<rootDir>/emulator/src/pay/callbacks.test.ts',
    '<rootDir>/emulator/src/pay/callback-dispatcher.test.ts',
    '<rootDir>/tests/integration/realtime.test.ts',
  ],
};
