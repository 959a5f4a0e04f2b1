// `npm run deploy`: compiles deploy/src/cli.ts with esbuild into a temporary file (so nothing
// generated lands in the tree) and runs it. See deploy/src/cli.ts for the options, and the
// README, "Deploy from the command line".
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudpay-deploy-'));
const outfile = path.join(outDir, 'cli.cjs');
let code = 1;
try {
  await esbuild.build({
    entryPoints: [path.join(root, 'deploy', 'src', 'cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  const { main } = createRequire(import.meta.url)(outfile);
  code = await main(process.argv.slice(2), root);
} finally {
  fs.rmSync(outDir, { recursive: true, force: true });
}
// Exit explicitly: a timed-out miniprogram-ci call cannot be cancelled and would keep Node alive.
process.exit(code);
