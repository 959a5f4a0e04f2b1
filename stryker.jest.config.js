// The tests StrykerJS runs against each mutant (stryker.config.mjs): the unit tests of the payment
// flows and the order state machine. The integration, page and
// e2e tiers run the esbuild bundles, which a mutant in the sandbox's sources never reaches; the
// property test (fast-check, seconds per run) and the deploy/doctor tests (none of the mutated
// files; doctor's bundle freshness check also fails in a copied sandbox) are left out.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  testEnvironment: 'node',
  transform,
  testMatch: [
    '<rootDir>/tests/unit/{payments,money-branches,order-state,prototype-keys,order-events,payment-edges-orders,payment-edges-callbacks}.test.ts',
  ],
};
