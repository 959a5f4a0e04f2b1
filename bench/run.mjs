// `npm run bench`: bundles bench/main.ts and runs it on plain Node (see scripts/run-ts.mjs).
// `npm run bench -- --quick` runs a smaller set.
import { runTypeScript } from '../scripts/run-ts.mjs';

process.exitCode = await runTypeScript('bench/main.ts', process.argv.slice(2));
