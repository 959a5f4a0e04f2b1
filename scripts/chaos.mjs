// Runs tests/chaos/run.ts on plain Node: bundles it with esbuild, pointing its imports of the
// emulator's sources at the built package (emulator/dist), so the function workers resolve.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-')), 'run.cjs');
await esbuild.build({
  entryPoints: [path.join(root, 'tests/chaos/run.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  define: { __dirname: JSON.stringify(path.join(root, 'tests/chaos')) },
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
process.exit(result.status ?? 2);
