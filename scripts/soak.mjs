// `npm run soak -- --minutes 3`: users paying with watches, faults and restarts (tests/soak/run.ts).
import { runTypeScript } from './run-ts.mjs';

process.exitCode = await runTypeScript('tests/soak/run.ts', process.argv.slice(2));
