import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where fixture functions' dependencies are installed once (git-ignored; npm's cache is warm). */
export const SDK_CACHE = path.resolve(__dirname, '../fixtures/sdk-functions/.installed');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * Installs, from the npm registry, exactly the dependencies a fixture function's package.json
 * pins, into a cache folder keyed by those dependencies; reruns find it in place. A finished
 * install leaves a marker, so a half-done one is redone.
 */
export async function installDependencies(functionDir: string): Promise<string | undefined> {
  const manifest = JSON.parse(fs.readFileSync(path.join(functionDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const deps = manifest.dependencies ?? {};
  if (!Object.keys(deps).length) return undefined;
  const key = Object.entries(deps)
    .map(([name, version]) => `${name.replace('/', '+')}@${version}`)
    .sort()
    .join('_');
  const dir = path.join(SDK_CACHE, key);
  const marker = path.join(dir, '.complete');
  if (!fs.existsSync(marker)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ private: true, dependencies: deps }, null, 2),
    );
    await run(
      npm,
      [
        'install',
        '--prefix',
        dir,
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--omit=dev',
        '--loglevel=error',
      ],
      { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
    );
    fs.writeFileSync(marker, new Date().toISOString());
  }
  return path.join(dir, 'node_modules');
}

/**
 * A temporary functions folder holding copies of the named fixture functions, each with its own
 * pinned dependencies (linked from the cache) as DevTools would upload them. `shared` functions
 * (no pinned SDK of their own) resolve wx-server-sdk from the project, as the emulator's fallback.
 */
export async function functionsFolder(source: string, names: string[]): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-fns-'));
  for (const name of names) {
    const from = path.join(source, name);
    const to = path.join(dir, name);
    fs.cpSync(from, to, { recursive: true, filter: (file) => !file.includes('node_modules') });
    const modules = await installDependencies(from);
    if (modules) fs.symlinkSync(modules, path.join(to, 'node_modules'), 'dir');
  }
  return dir;
}
