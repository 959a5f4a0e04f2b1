// `npm run chaos -- --orders 10000`: the chaos run (tests/chaos/run.ts) at any size.
import { runTypeScript } from './run-ts.mjs';

process.exitCode = await runTypeScript('tests/chaos/run.ts', process.argv.slice(2));
