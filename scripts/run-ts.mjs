// TypeScript on plain Node for the project's scripts: `runTypeScript` bundles an entry with
// esbuild into node_modules/.cache (ignored by git, ESLint and Prettier; external packages resolve
// from the project), pointing imports of the emulator's sources at the built package
// (emulator/dist) so function workers resolve, and runs it in a child process (the chaos run, the
// benchmarks); `loadTypeScript` bundles an entry whole and returns its exports in this process
// (deploy, doctor).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles `entry` (relative to the project root) and runs it; resolves to its exit code. */
export async function runTypeScript(entry, args) {
  const source = path.join(root, entry);
  const dir = path.join(root, 'node_modules/.cache/run-ts');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `${path.basename(entry, '.ts')}.cjs`);
  await esbuild.build({
    entryPoints: [source],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    define: { __dirname: JSON.stringify(path.dirname(source)) },
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
  const result = spawnSync(process.execPath, [out, ...args], { stdio: 'inherit', cwd: root });
  return result.status ?? 2;
}

/** Bundles `entry` (relative to the project root) into a temporary file and returns its exports. */
export async function loadTypeScript(entry) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudpay-'));
  const outfile = path.join(dir, `${path.basename(entry, '.ts')}.cjs`);
  try {
    await esbuild.build({
      entryPoints: [path.join(root, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'warning',
    });
    return createRequire(import.meta.url)(outfile);
  } finally {
    // The module is loaded: the file is no longer needed.
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
