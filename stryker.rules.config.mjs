// Mutation testing of the security rules (issue 19), the third part of `npm run mutation`: the
// rules engine, its expression language and the basic permissions, against the in-process tests
// stryker.rules.jest.config.js lists. Apart from stryker.emulator.config.mjs because those tests
// take milliseconds where the realtime suite there takes seconds per mutant: with it, rules
// mutants that loop spent the run waiting for timeouts. Same settings as stryker.config.mjs
// otherwise; its own incremental file.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  jest: { ...base.jest, configFile: 'stryker.rules.jest.config.js' },
  // Scores (`npx stryker run stryker.rules.config.mjs`, concurrency 1, 25 minutes from scratch on
  // the shared machine, minutes incrementally): expression.ts 93.72%, index.ts 94.45%,
  // permissions.ts 100% (first measured with engine.test.ts alone: 39.07%, 72.46%, 76.60%). Every
  // surviving mutant is justified beside the code (`Mutation testing: ...`).
  // The tests take milliseconds: a mutant that loops is found in seconds, not tens of seconds.
  timeoutMS: 2000,
  mutate: [
    'emulator/src/database/rules/index.ts',
    'emulator/src/database/rules/expression.ts',
    'emulator/src/database/rules/permissions.ts',
  ],
  incrementalFile: 'reports/stryker-rules-incremental.json',
  htmlReporter: { fileName: 'reports/mutation-rules/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation-rules/mutation.json' },
};
