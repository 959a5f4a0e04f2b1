// `npm run doctor`: the deploy's pre-flight checks alone (deploy/src/doctor.ts), compiled with
// esbuild into a temporary file like scripts/deploy.mjs. No build, no network: it reports what a
// deploy would upload wrongly, stale bundles included. Exit 1 when any check fails.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudpay-doctor-'));
const outfile = path.join(outDir, 'doctor.cjs');
let code = 1;
try {
  await esbuild.build({
    entryPoints: [path.join(root, 'deploy', 'src', 'doctor.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  const { runDoctor } = createRequire(import.meta.url)(outfile);
  code = runDoctor({ root, env: process.env, log: (line) => console.log(line) });
} finally {
  fs.rmSync(outDir, { recursive: true, force: true });
}
process.exit(code);
