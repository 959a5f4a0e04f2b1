// `npm run bench`: bundles bench/main.ts with esbuild and runs it on plain Node, pointing its
// imports of the emulator's sources at the built package (emulator/dist) so that the function
// workers resolve, as scripts/chaos.mjs does. `npm run bench -- --quick` runs a smaller set.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Under the project's node_modules (ignored by git, ESLint and Prettier) so the bundle's external
// packages (ws, playwright-core) resolve from it.
const dir = path.join(root, 'node_modules/.cache/bench');
fs.mkdirSync(dir, { recursive: true });
const out = path.join(dir, 'main.cjs');
{
  await esbuild.build({
    entryPoints: [path.join(root, 'bench/main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    define: { __dirname: JSON.stringify(path.join(root, 'bench')) },
    plugins: [
      {
        name: 'emulator-dist',
        setup(build) {
          build.onResolve({ filter: /emulator\/src$/ }, () => ({
            path: path.join(root, 'emulator/dist/index.js'),
            external: true,
          }));
        },
      },
    ],
    logLevel: 'warning',
  });
  const result = spawnSync(process.execPath, [out, ...process.argv.slice(2)], {
    stdio: 'inherit',
    cwd: root,
  });
  process.exitCode = result.status ?? 2;
}
