#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { lockHolder } from './database/lock';
import { exportDataDir, importIntoDataDir } from './database/portable';
import { runPayCommand } from './pay/cli';
import { startEmulator, DEFAULTS } from './emulator';

const USAGE = `wxcloud-emulator: a local WeChat Cloud for the real wx-server-sdk

Usage:
  wxcloud-emulator start [--functions DIR] [--port N] [--in-memory] [--data DIR] [--fresh]
                         [--env-id ID[,ID...]] [--appid ID] [--mch-id ID] [--freeze-after-return]
                         [--function-env FILE] [--sdk-transport port|http]
                         [--max-instances N] [--timeout-ms MS] [--preview]
  wxcloud-emulator export FILE [--data DIR]   write the data dir's database to a JSON file
  wxcloud-emulator import FILE [--data DIR]   replace those collections' documents from FILE
                                              (while no emulator uses the data dir)
  wxcloud-emulator pay COMMAND ...            drive a running emulator's CloudPay sandbox
                                              (wxcloud-emulator pay --help lists them)

--fresh empties the data dir's database before starting.
--env-id a,b hosts several envs; the first is the default (DYNAMIC_CURRENT_ENV). A call naming
another env fails with "Environment not found".
--preview also serves the console and the mini-program's page preview at the same address.
--sdk-transport http sends functions' SDK requests over loopback HTTP instead of the workers'
message ports (the default, port, skips the HTTP stack; both answer alike).

Defaults: functions from project.config.json's cloudfunctionRoot, port ${DEFAULTS.port} (0 picks a
free one), data in ${DEFAULTS.dataDir}/, env ${DEFAULTS.envId}, appid ${DEFAULTS.appid},
merchant ${DEFAULTS.mchId}.`;

function fail(message: string): never {
  process.stderr.write(`wxcloud-emulator: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function start(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        functions: { type: 'string' },
        port: { type: 'string' },
        'in-memory': { type: 'boolean' },
        fresh: { type: 'boolean' },
        data: { type: 'string' },
        'env-id': { type: 'string' },
        appid: { type: 'string' },
        'mch-id': { type: 'string' },
        'freeze-after-return': { type: 'boolean' },
        'sdk-transport': { type: 'string' },
        'max-instances': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'function-env': { type: 'string' },
        preview: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    fail(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  }
  if (values.fresh && values['in-memory']) fail('--fresh and --in-memory together make no sense');
  if (values.fresh) {
    const dataDir = path.resolve(values.data ?? DEFAULTS.dataDir);
    const holder = lockHolder(dataDir);
    if (holder) fail(`an emulator (pid ${holder}) is using ${dataDir}; stop it before --fresh`);
    // Only the database's own folder: the data dir may hold other services' files.
    fs.rmSync(path.join(dataDir, 'database'), { recursive: true, force: true });
  }
  const positiveInt = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) fail(`--${flag} must be a positive integer, got "${text}"`);
    return n;
  };
  const sdkTransport = values['sdk-transport'];
  if (sdkTransport !== undefined && sdkTransport !== 'port' && sdkTransport !== 'http') {
    fail(`--sdk-transport must be "port" or "http", got "${sdkTransport}"`);
  }
  const maxInstancesPerFunction = positiveInt('max-instances', values['max-instances']);
  const defaultFunctionTimeoutMs = positiveInt('timeout-ms', values['timeout-ms']);
  let functionEnv: Record<string, Record<string, string>> | undefined;
  if (values['function-env'] !== undefined) {
    try {
      functionEnv = JSON.parse(
        fs.readFileSync(values['function-env'], 'utf8'),
      ) as typeof functionEnv;
    } catch (err) {
      fail(`--function-env ${values['function-env']}: ${(err as Error).message}`);
    }
  }
  let emulator;
  try {
    emulator = await startEmulator({
      functionEnv,
      functionsDir: values.functions,
      port,
      inMemory: values['in-memory'],
      dataDir: values.data,
      envId: values['env-id'],
      appid: values.appid,
      mchId: values['mch-id'],
      freezeAfterReturn: values['freeze-after-return'],
      sdkTransport,
      maxInstancesPerFunction,
      defaultFunctionTimeoutMs,
      preview: values.preview,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  process.stdout.write(`wxcloud-emulator ready at ${emulator.url}\n`);
  if (values.preview) {
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
function transfer(command: 'export' | 'import', args: string[]): void {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { data: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length) fail(`${command} takes exactly one FILE`);
  const dataDir = path.resolve(parsed.values.data ?? DEFAULTS.dataDir);
  try {
    if (command === 'export') {
      const data = exportDataDir(dataDir);
      fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
      const count = Object.values(data.collections).reduce((n, docs) => n + docs.length, 0);
      process.stdout.write(`exported ${count} documents from ${dataDir} to ${file}\n`);
    } else {
      const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      const result = importIntoDataDir(dataDir, raw);
      process.stdout.write(
        `imported ${result.documents} documents into ${result.collections} collections in ${dataDir}\n`,
      );
    }
  } catch (err) {
    process.stderr.write(`wxcloud-emulator: ${command} failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'export':
    case 'import':
      return transfer(command, rest);
    case 'pay':
      process.exitCode = await runPayCommand(rest);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      fail(`unknown command "${command}"`);
  }
}

void main(process.argv.slice(2));
