#!/usr/bin/env node
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  commandHelp,
  EXPORT,
  IMPORT,
  mainHelp,
  parseOptions,
  START,
  type CommandSpec,
} from './cli/usage';
import { lockHolder } from './database/lock';
import { envDataDir, rootEnv } from './envs';
import { exportDataDirToFile, importIntoDataDir } from './database/portable';
import { runPayCommand } from './pay/cli';
import { startEmulator, DEFAULTS } from './emulator';

/** A usage error: the problem and where the help is, never the whole usage (exit 2). */
function fail(message: string, command?: CommandSpec): never {
  const help = command ? `wxcloud-emulator ${command.name} --help` : 'wxcloud-emulator --help';
  process.stderr.write(`wxcloud-emulator: ${message}\n(${help} lists the options)\n`);
  process.exit(2);
}

/** Parses a command's flags from the one table in cli/usage.ts; `--help` prints its help. */
function parse(command: CommandSpec, args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: parseOptions(command),
      allowPositionals: command.args !== undefined,
      strict: true,
    });
  } catch (err) {
    fail((err as Error).message, command);
  }
  if (parsed.values.help) {
    process.stdout.write(`${commandHelp(command)}\n`);
    process.exit(0);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  return {
    positionals: parsed.positionals,
    string: (name: string): string | undefined => values[name] as string | undefined,
    flag: (name: string): boolean => values[name] === true,
  };
}

/** The first port from `port + 1` that nothing listens on, to suggest one (undefined if none). */
async function nextFreePort(port: number): Promise<number | undefined> {
  for (let candidate = port + 1; candidate <= Math.min(port + 20, 65535); candidate++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(candidate, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return candidate;
  }
  return undefined;
}

async function start(args: string[]): Promise<void> {
  const opts = parse(START, args);
  const portText = opts.string('port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    fail(`--port must be an integer from 0 to 65535, got "${portText}"`, START);
  }
  if (opts.flag('fresh') && opts.flag('in-memory'))
    fail('--fresh and --in-memory together make no sense', START);
  const functionsDir = opts.string('functions');
  if (functionsDir !== undefined && !fs.existsSync(functionsDir)) {
    fail(`--functions ${functionsDir}: no such folder`, START);
  }
  if (opts.flag('fresh')) {
    const dataDir = path.resolve(opts.string('data') ?? DEFAULTS.dataDir);
    const holder = lockHolder(dataDir);
    if (holder) fail(`an emulator (pid ${holder}) is using ${dataDir}; stop it before --fresh`);
    // Only the databases' own folders (the first env's, and each other env's under envs/): the
    // data dir may hold other services' files.
    fs.rmSync(path.join(dataDir, 'database'), { recursive: true, force: true });
    const envsDir = path.join(dataDir, 'envs');
    for (const env of fs.existsSync(envsDir) ? fs.readdirSync(envsDir) : []) {
      fs.rmSync(path.join(envsDir, env, 'database'), { recursive: true, force: true });
    }
  }
  const positiveInt = (flag: string): number | undefined => {
    const text = opts.string(flag);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1)
      fail(`--${flag} must be a positive integer, got "${text}"`, START);
    return n;
  };
  const sdkTransport = opts.string('sdk-transport');
  if (sdkTransport !== undefined && sdkTransport !== 'port' && sdkTransport !== 'http') {
    fail(`--sdk-transport must be "port" or "http", got "${sdkTransport}"`, START);
  }
  const maxInstancesPerFunction = positiveInt('max-instances');
  const idleText = opts.string('instance-idle-ms');
  const instanceIdleMs = idleText === undefined ? undefined : Number(idleText);
  if (instanceIdleMs !== undefined && !(Number.isInteger(instanceIdleMs) && instanceIdleMs >= 0)) {
    fail(`--instance-idle-ms must be 0 or a positive integer, got "${idleText}"`, START);
  }
  const defaultFunctionTimeoutMs = positiveInt('timeout-ms');
  let functionEnv: Record<string, Record<string, string>> | undefined;
  const functionEnvFile = opts.string('function-env');
  if (functionEnvFile !== undefined) {
    try {
      functionEnv = JSON.parse(fs.readFileSync(functionEnvFile, 'utf8')) as typeof functionEnv;
    } catch (err) {
      fail(`--function-env ${functionEnvFile}: ${(err as Error).message}`, START);
    }
  }
  let emulator;
  try {
    emulator = await startEmulator({
      functionEnv,
      functionsDir,
      port,
      inMemory: opts.flag('in-memory'),
      dataDir: opts.string('data'),
      envId: opts.string('env-id'),
      appid: opts.string('appid'),
      mchId: opts.string('mch-id'),
      freezeAfterReturn: opts.flag('freeze-after-return'),
      sdkTransport,
      maxInstancesPerFunction,
      instanceIdleMs,
      defaultFunctionTimeoutMs,
      preview: opts.flag('preview'),
    });
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'EADDRINUSE') {
      const wanted = port ?? DEFAULTS.port;
      const next = await nextFreePort(wanted);
      fail(
        `port ${wanted} is in use (another emulator?): stop it, or pass --port 0 for a free port${next ? ` (or --port ${next}, free now)` : ''}`,
      );
    }
    process.stderr.write(`wxcloud-emulator: ${message}\n`);
    process.exit(1);
  }
  const functions = emulator.services.functions.list();
  if (functions.length === 0) {
    process.stderr.write(
      `wxcloud-emulator: warning: no functions in ${emulator.config.functionsDir} (no sub-folder with an index.js; run npm run build?): every callFunction will answer "function not found"\n`,
    );
  }
  process.stdout.write(`wxcloud-emulator ready at ${emulator.url}\n`);
  if (opts.flag('preview')) {
    process.stdout.write('Open that address in a browser: the console and the page preview.\n');
  }
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    void emulator.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

/** `export FILE` / `import FILE`: offline, straight from and to the data dir's journal. */
function transfer(command: CommandSpec, args: string[]): void {
  const opts = parse(command, args);
  const [file, ...extra] = opts.positionals;
  if (!file || extra.length) fail(`${command.name} takes exactly one FILE`, command);
  const dataDir = path.resolve(opts.string('data') ?? DEFAULTS.dataDir);
  const env = opts.string('env');
  // The root env's data is at the root, every other env's under envs/<id>/ (envs.ts).
  const envDir = env === undefined ? dataDir : envDataDir(dataDir, rootEnv(dataDir, env), env);
  if (env !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(env)) {
    fail(`--env ${JSON.stringify(env)} is not an env id (letters, digits, - and _)`, command);
  }
  try {
    if (command === EXPORT) {
      if (!fs.existsSync(envDir)) {
        throw new Error(
          `no data for env ${String(env)} in ${dataDir} (looked in ${envDir}; the root holds env ${rootEnv(dataDir, '(unnamed)')}'s)`,
        );
      }
      // Written a document at a time (portable.ts), never built as one string.
      const count = exportDataDirToFile(dataDir, file, envDir);
      process.stdout.write(`exported ${count} documents from ${envDir} to ${file}\n`);
    } else {
      const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      const result = importIntoDataDir(dataDir, raw, envDir);
      process.stdout.write(
        `imported ${result.documents} documents into ${result.collections} collections in ${envDir}\n`,
      );
    }
  } catch (err) {
    process.stderr.write(`wxcloud-emulator: ${command.name} failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'export':
      return transfer(EXPORT, rest);
    case 'import':
      return transfer(IMPORT, rest);
    case 'pay':
      process.exitCode = await runPayCommand(rest);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${mainHelp()}\n`);
      return;
    default:
      fail(`unknown command "${command}"`);
  }
}

void main(process.argv.slice(2));
