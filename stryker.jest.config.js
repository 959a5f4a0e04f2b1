// The tests StrykerJS runs against each mutant (stryker.config.mjs): the unit tests of the payment
// flows and the order state machine, the emulator's unit tests, and the two integration files that
// run the emulator's rules and realtime auth from source in-process (rules.test.ts,
// realtime.test.ts). The other integration, page and e2e tiers run the esbuild bundles, which a
// mutant in the sandbox's sources never reaches, and the deploy/doctor unit tests touch none of
// the mutated files (doctor's bundle freshness check also fails in a copied sandbox): left out.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  testEnvironment: 'node',
  transform,
  testMatch: [
    '<rootDir>/tests/unit/{payments,money-branches,order-state,properties,basics}.test.ts',
    '<rootDir>/emulator/src/**/*.test.ts',
    '<rootDir>/tests/integration/rules.test.ts',
    '<rootDir>/tests/integration/realtime.test.ts',
  ],
};
