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
