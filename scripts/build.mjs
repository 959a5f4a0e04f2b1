// One build for everything that runs as JavaScript: the emulator package (its CLI must run on
// plain Node 20) and each cloud function, bundled with the shared server/ code into the
// index.js that DevTools uploads. `npm install` runs it (prepare), so a fresh clone deploys as is.
//
//   node scripts/build.mjs                 development build (local defaults allowed)
//   node scripts/build.mjs --production    refuses to build without a real merchant id
//   node scripts/build.mjs --production --out DIR
//                                          only the functions, each folder copied to DIR/<name>/
//                                          with its bundle there: cloudfunctions/ is not touched
//                                          (what `npm run deploy` uploads; a dry run changes nothing)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const outIndex = process.argv.indexOf('--out');
const outDir = outIndex === -1 ? undefined : process.argv[outIndex + 1];
if (outIndex !== -1 && !outDir) throw new Error('--out needs a folder');

/** Optional, git-ignored local settings inlined into the functions (see README, "Configuration"). */
function localConfig() {
  const file = path.join(root, 'cloudpay.config.local.json');
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cloudpay.config.local.json is not valid JSON: ${err.message}`);
  }
}

/** The latest modification time among these files and everything below these folders. */
function newestMtime(paths) {
  let newest = 0;
  for (const p of paths) {
    const stat = fs.statSync(p);
    newest = Math.max(
      newest,
      stat.isDirectory()
        ? newestMtime(fs.readdirSync(p).map((name) => path.join(p, name)))
        : stat.mtimeMs,
    );
  }
  return newest;
}

async function buildEmulator() {
  const dir = path.join(root, 'emulator');
  const entries = ['cli', 'index', 'client', 'functions/worker']
    .map((name) => path.join(dir, 'src', `${name}.ts`))
    .filter((file) => fs.existsSync(file));
  await esbuild.build({
    entryPoints: entries,
    outdir: path.join(dir, 'dist'),
    outbase: path.join(dir, 'src'),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  fs.chmodSync(path.join(dir, 'dist', 'cli.js'), 0o755);
  // Type declarations for projects that use the package's JS API (startEmulator, createWx).
  // tsc takes seconds, so only when a source changed: npm start and npm test build every time.
  const declarations = path.join(dir, 'dist', 'index.d.ts');
  const config = path.join(dir, 'tsconfig.build.json');
  if (
    !fs.existsSync(declarations) ||
    newestMtime([path.join(dir, 'src'), config]) > fs.statSync(declarations).mtimeMs
  ) {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', config], {
      stdio: 'inherit',
    });
  }
}

async function buildFunctions() {
  const functionsDir = path.join(root, 'cloudfunctions');
  const names = fs
    .readdirSync(functionsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(functionsDir, d.name, 'index.ts')))
    .map((d) => d.name);
  const config = localConfig();
  if (outDir) {
    for (const name of names) {
      // The folder as uploaded (package.json, config.json, other files), timestamps kept so the
      // pre-flight freshness check compares the new bundle with the real sources' times.
      fs.cpSync(path.join(functionsDir, name), path.join(outDir, name), {
        recursive: true,
        preserveTimestamps: true,
        filter: (src) => {
          const rel = path.relative(path.join(functionsDir, name), src);
          return rel !== 'node_modules' && rel !== 'index.js';
        },
      });
    }
  }
  await Promise.all(
    names.map((name) =>
      esbuild.build({
        entryPoints: [path.join(functionsDir, name, 'index.ts')],
        outfile: path.join(outDir ?? functionsDir, name, 'index.js'),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        // The oldest runtime the cloud still offers for new functions is Node 16.
        target: 'node16',
        external: ['wx-server-sdk'],
        define: {
          __CLOUDPAY_LOCAL_CONFIG__: JSON.stringify(config),
          __CLOUDPAY_PRODUCTION__: JSON.stringify(production),
        },
        banner: {
          js: '// Built by scripts/build.mjs from index.ts: edit the TypeScript, not this file.',
        },
        logLevel: 'warning',
      }),
    ),
  );
  return names;
}

const started = Date.now();
if (!outDir) await buildEmulator();
const functions = await buildFunctions();
console.log(
  `built ${outDir ? '' : 'emulator and '}${functions.length} functions (${functions.join(', ')})${outDir ? ` into ${outDir}` : ''} in ${Date.now() - started} ms`,
);
