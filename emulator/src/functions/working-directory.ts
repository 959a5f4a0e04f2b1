/**
 * The function folder as an instance's working directory and module search path, as on the
 * cloud: SCF's Node.js runtime runs the code from its own folder (`/var/user`) with
 * `NODE_PATH=/var/user:/var/user/node_modules:...` (platform-facts §8), so `require('key.json')`
 * and `fs.readFileSync('./apiclient_cert.p12')` find the function's own files.
 *
 * A worker thread cannot `process.chdir()` (the working directory is per process), so the worker
 * answers `process.cwd()` with the function folder and resolves relative paths given to `fs`
 * against it. Knowingly different: native addons and child processes still see the emulator's
 * real working directory.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';

/** fs functions whose first argument is a path (and their Sync and promise forms). */
const ONE_PATH = [
  'access',
  'appendFile',
  'chmod',
  'chown',
  'createReadStream',
  'createWriteStream',
  'exists',
  'lchmod',
  'lchown',
  'lstat',
  'lutimes',
  'mkdir',
  'mkdtemp',
  'open',
  'openAsBlob',
  'opendir',
  'readdir',
  'readFile',
  'readlink',
  'realpath',
  'rm',
  'rmdir',
  'stat',
  'statfs',
  'truncate',
  'unlink',
  'utimes',
  'watch',
  'watchFile',
  'unwatchFile',
  'writeFile',
];
/** fs functions whose first two arguments are paths (symlink's target stays as written). */
const TWO_PATHS = ['copyFile', 'cp', 'link', 'rename'];

/**
 * Makes `functionDir` the instance's working directory and puts it (then its node_modules, then
 * `fallbackNodeModules`) on the module search path.
 */
export function enterFunctionFolder(functionDir: string, fallbackNodeModules: string): void {
  // NODE_PATH is read once by _initPaths: the folder's own node_modules chain is searched first
  // (ordinary resolution), then these, in order. The variable is removed again so the function
  // sees the platform's environment only.
  process.env.NODE_PATH = [functionDir, path.join(functionDir, 'node_modules'), fallbackNodeModules]
    .filter((dir, i, all) => all.indexOf(dir) === i)
    .join(path.delimiter);
  (Module as unknown as { _initPaths(): void })._initPaths();
  delete process.env.NODE_PATH;

  let cwd = functionDir;
  process.cwd = () => cwd;
  process.chdir = (directory: string) => {
    const next = path.resolve(cwd, directory);
    if (!fs.statSync(next).isDirectory())
      throw new Error(`ENOTDIR: not a directory, chdir '${next}'`);
    cwd = next;
  };
  const resolve = (value: unknown): unknown =>
    typeof value === 'string' && value !== '' && !path.isAbsolute(value)
      ? path.resolve(cwd, value)
      : value;
  const wrap = (target: Record<string, unknown>, name: string, count: number): void => {
    const original = target[name];
    if (typeof original !== 'function') return;
    target[name] = function withFolder(this: unknown, ...args: unknown[]) {
      for (let i = 0; i < count && i < args.length; i++) args[i] = resolve(args[i]);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  };
  const sync = fs as unknown as Record<string, unknown>;
  const promises = fs.promises as unknown as Record<string, unknown>;
  for (const [names, count] of [
    [ONE_PATH, 1],
    [TWO_PATHS, 2],
  ] as const) {
    for (const name of names) {
      wrap(sync, name, count);
      wrap(sync, `${name}Sync`, count);
      wrap(promises, name, count);
    }
  }
}
