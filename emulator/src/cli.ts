#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startEmulator, DEFAULTS } from './emulator';

const USAGE = `wxcloud-emulator: a local WeChat Cloud for the real wx-server-sdk

Usage:
  wxcloud-emulator start [--functions DIR] [--port N] [--in-memory] [--data DIR]
                         [--env-id ID] [--appid ID] [--mch-id ID] [--freeze-after-return]

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
  let emulator;
  try {
    emulator = await startEmulator({
      functionsDir: values.functions,
      port,
      inMemory: values['in-memory'],
      dataDir: values.data,
      envId: values['env-id'],
      appid: values.appid,
      mchId: values['mch-id'],
      freezeAfterReturn: values['freeze-after-return'],
    });
  } catch (err) {
    fail((err as Error).message);
  }
  process.stdout.write(`wxcloud-emulator ready at ${emulator.url}\n`);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    void emulator.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
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
