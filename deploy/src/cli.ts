// `npm run deploy [-- --dry-run] [--database] [--content] [--rules] [--skip-triggers] [--no-build] [--timeout-seconds N]`
// Run through scripts/deploy.mjs, which compiles this file with esbuild (no ts-node needed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installMiniprogramCi, isMiniprogramCiInstalled, openMiniprogramCi } from './ci';
import { DEFAULT_TIMEOUTS, runDeploy, type Timeouts } from './deploy';
import { runDoctor } from './doctor';
import { PlanError } from './plan';

export const USAGE = `usage: npm run deploy -- [options]

  --dry-run              print what would be uploaded and the requests that would be sent; no network
  --database             also create the collections and indexes of database/*.json (needs WX_APPSECRET)
  --content              also upload content/: files to cloud storage, records to their collections
                         (needs WX_APPSECRET; idempotent)
  --rules                also set each collection's security rule through Tencent Cloud's API
                         (needs TENCENTCLOUD_SECRETID/SECRETKEY; without them, prints the console steps)
  --skip-triggers        upload code only (e.g. when payexpire's timer trigger already exists)
  --no-build             upload cloudfunctions/ as it is, instead of a production build made in a
                         temporary folder (cloudfunctions/ itself is never rebuilt by a deploy)
  --timeout-seconds N    deadline for one function upload (default ${DEFAULT_TIMEOUTS.uploadMs / 1000})

settings (environment variables, or the same keys in the git-ignored deploy/deploy.config.json):
  WX_APPID            appid          the mini-program's AppID (or project.config.json's)
  WX_UPLOAD_KEY_PATH  privateKeyPath the 小程序代码上传密钥 file (its IP allow-list must admit this machine)
  CLOUDPAY_ENV_ID     envId          the FULL cloud env id, not its alias
  WX_APPSECRET        appSecret      only for --database and --content
  TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_REGION (default ap-shanghai)
                                     only for --rules, environment variables only

The pre-flight checks (npm run doctor) run after the build and before any network.`;

export interface CliOptions {
  dryRun: boolean;
  database: boolean;
  content: boolean;
  rules: boolean;
  skipTriggers: boolean;
  build: boolean;
  timeouts: Timeouts;
  help: boolean;
}

export function parseArgs(argv: string[]): CliOptions {
  const options: CliOptions = {
    dryRun: false,
    database: false,
    content: false,
    rules: false,
    skipTriggers: false,
    build: true,
    timeouts: { ...DEFAULT_TIMEOUTS },
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--database') options.database = true;
    else if (arg === '--rules') options.rules = true;
    else if (arg === '--content') options.content = true;
    else if (arg === '--skip-triggers') options.skipTriggers = true;
    else if (arg === '--no-build') options.build = false;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--timeout-seconds') {
      const seconds = Number(argv[++i]);
      if (!Number.isInteger(seconds) || seconds < 10 || seconds > 3600) {
        throw new Error('--timeout-seconds needs a whole number of seconds from 10 to 3600');
      }
      options.timeouts.uploadMs = seconds * 1000;
    } else throw new Error(`unknown option ${arg}\n\n${USAGE}`);
  }
  return options;
}

export async function main(argv: string[], root: string): Promise<number> {
  const log = (line: string): void => console.log(line);
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  if (options.help) {
    log(USAGE);
    return 0;
  }
  // The production bundles go to a folder of their own, used only for the upload: cloudfunctions/
  // keeps the development bundles `npm start` runs, and a dry run changes nothing in the tree.
  const buildDir = options.build
    ? fs.mkdtempSync(path.join(os.tmpdir(), 'cloudpay-deploy-build-'))
    : undefined;
  const functionsDir = buildDir ? path.join(buildDir, 'cloudfunctions') : undefined;
  if (functionsDir) {
    // The production build refuses local defaults, so the emulator's merchant id never ships.
    const built = spawnSync(
      process.execPath,
      [path.join(root, 'scripts', 'build.mjs'), '--production', '--out', functionsDir],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
    if (built.status !== 0) {
      console.error('the production build failed (see above): nothing was uploaded');
      return 1;
    }
  }
  const deployDir = path.join(root, 'deploy');
  try {
    return await runDeploy({
      root,
      functionsDir,
      env: process.env,
      log,
      dryRun: options.dryRun,
      database: options.database,
      rules: options.rules,
      content: options.content,
      uploadForm: async (url, fields, file) => {
        const form = new FormData();
        for (const [key, value] of Object.entries(fields)) form.append(key, value);
        form.append('file', new Blob([new Uint8Array(file.bytes)]), file.name);
        return fetch(url, { method: 'POST', body: form });
      },
      skipTriggers: options.skipTriggers,
      preflight: (print) =>
        runDoctor({ root, env: process.env, log: print, bundlesDir: functionsDir }) === 0,
      timeouts: options.timeouts,
      openUploader: (settings) => {
        // Installed on first use and loaded only here, after every local check passed.
        if (!isMiniprogramCiInstalled(deployDir)) installMiniprogramCi(deployDir, log);
        return openMiniprogramCi(deployDir, settings);
      },
      fetch: (url, init) => fetch(url, init),
    });
  } catch (err) {
    if (err instanceof PlanError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  } finally {
    if (buildDir) fs.rmSync(buildDir, { recursive: true, force: true });
  }
}
