// `npm run doctor`: the deploy's pre-flight checks alone (deploy/src/doctor.ts). No build, no
// network: it reports what a deploy would upload wrongly, stale bundles included. Exit 1 when any
// check fails.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTypeScript } from './run-ts.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { runDoctor } = await loadTypeScript('deploy/src/doctor.ts');
process.exit(runDoctor({ root, env: process.env, log: (line) => console.log(line) }));
