import { PAY_USAGE } from '../pay/cli';
import { DEFAULTS } from '../emulator';

/**
 * Every command and flag of the CLI, in one table: `--help` is rendered from it and the parser
 * is built from it, so a new flag is one entry here (and one line in the README's synopsis,
 * which tests/integration/cli-help.test.ts compares with this table).
 */
export interface OptionSpec {
  name: string;
  /** The value's placeholder; absent for a boolean flag. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** What follows the command name, before the options. */
  args?: string;
  summary: string;
  options: OptionSpec[];
  /** Extra lines after the options. */
  notes?: string[];
}

const DATA: OptionSpec = {
  name: 'data',
  value: 'DIR',
  help: `the data folder (default ${DEFAULTS.dataDir}/ in the current directory)`,
};

export const START: CommandSpec = {
  name: 'start',
  summary: 'run the local cloud: database, functions, CloudPay sandbox (Ctrl-C stops it)',
  options: [
    {
      name: 'functions',
      value: 'DIR',
      help: "the cloud functions folder, one sub-folder each (default: project.config.json's cloudfunctionRoot)",
    },
    {
      name: 'port',
      value: 'N',
      help: `port on 127.0.0.1 (default ${DEFAULTS.port}; 0 picks a free one)`,
    },
    { name: 'in-memory', help: 'keep nothing on disk' },
    DATA,
    { name: 'fresh', help: "empty the data folder's database before starting" },
    {
      name: 'env-id',
      value: 'ID[,ID...]',
      help: `the cloud env ids hosted, the first the default (default ${DEFAULTS.envId}); a call naming another env fails with "Environment not found"`,
    },
    { name: 'appid', value: 'ID', help: `the mini-program's AppID (default ${DEFAULTS.appid})` },
    { name: 'mch-id', value: 'ID', help: `the sandbox merchant id (default ${DEFAULTS.mchId})` },
    {
      name: 'function-env',
      value: 'FILE',
      help: 'functions\' environment variables, JSON: {"*": {"KEY": "v"}, "userpay": {...}}',
    },
    {
      name: 'max-instances',
      value: 'N',
      help: `instances per function (default ${DEFAULTS.maxInstancesPerFunction})`,
    },
    {
      name: 'instance-idle-ms',
      value: 'MS',
      help: `reclaim a function instance idle this long, on the emulated clock; 0 never (default ${DEFAULTS.instanceIdleMs}, the emulator's choice: the cloud documents none)`,
    },
    {
      name: 'timeout-ms',
      value: 'MS',
      help: `function timeout when config.json has none (default ${DEFAULTS.defaultFunctionTimeoutMs})`,
    },
    {
      name: 'freeze-after-return',
      help: 'drop SDK work a function leaves running after it returned, as a frozen instance may',
    },
    {
      name: 'sdk-transport',
      value: 'port|http',
      help: "how functions' SDK requests reach the emulator: the workers' message ports (port, the default) or loopback HTTP; both answer alike",
    },
    { name: 'preview', help: 'also serve the console and the page preview at the same address' },
  ],
};

/** Which env's database export/import read and write (emulator/docs/envs.md: data dir layout). */
const ENV: OptionSpec = {
  name: 'env',
  value: 'ID',
  help: "the env whose database to use (default: the data folder's root env, the first --env-id it was used with; others are under DIR/envs/ID/)",
};

export const EXPORT: CommandSpec = {
  name: 'export',
  args: 'FILE',
  summary: "write the data folder's database to a JSON file",
  options: [DATA, ENV],
};

export const IMPORT: CommandSpec = {
  name: 'import',
  args: 'FILE',
  summary: "replace those collections' documents from FILE (while no emulator uses the folder)",
  options: [DATA, ENV],
};

export const COMMANDS = [START, EXPORT, IMPORT];

const HELP: OptionSpec = { name: 'help', help: 'print this help' };

/** Lines no wider than a terminal's 100 columns: `text` wrapped at spaces, hanging at `indent`. */
function wrap(first: string, text: string, indent: number, width = 100): string[] {
  const lines: string[] = [];
  let line = first.padEnd(indent);
  for (const word of text.split(' ')) {
    if (line.length > indent && line.length + word.length > width) {
      lines.push(line.trimEnd());
      line = ' '.repeat(indent);
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines;
}

function optionLines(options: OptionSpec[]): string[] {
  const left = (o: OptionSpec): string => `  --${o.name}${o.value ? ` ${o.value}` : ''}`;
  const indent = Math.max(...options.map((o) => left(o).length)) + 2;
  return options.flatMap((o) => wrap(left(o), o.help, indent));
}

/** `wxcloud-emulator <command> --help`. */
export function commandHelp(command: CommandSpec): string {
  return [
    `wxcloud-emulator ${command.name}${command.args ? ` ${command.args}` : ''} [options]: ${command.summary}`,
    '',
    'Options:',
    ...optionLines([...command.options, HELP]),
    ...(command.notes ? ['', ...command.notes] : []),
  ].join('\n');
}

/** `wxcloud-emulator --help`: every command and every flag. */
export function mainHelp(): string {
  return [
    'wxcloud-emulator: a local WeChat Cloud for the real wx-server-sdk',
    '',
    'Usage:',
    ...[
      ...COMMANDS.map((c) => [`${c.name}${c.args ? ` ${c.args}` : ''} [options]`, c.summary]),
      ['pay COMMAND [options]', "drive a running emulator's CloudPay sandbox"],
      ['COMMAND --help', "one command's help"],
    ].flatMap(([left, summary]) => wrap(`  wxcloud-emulator ${left}`, summary, 44)),
    '',
    ...COMMANDS.flatMap((c) => [`${c.name} options:`, ...optionLines(c.options), '']),
    `pay (wxcloud-emulator pay --help):`,
    ...PAY_USAGE.split('\n')
      .slice(1)
      .map((line) => line.replace(/^ {2}/, '  ')),
  ].join('\n');
}

/** The parseArgs option table for a command (every flag a string or a boolean, plus --help). */
export function parseOptions(
  command: CommandSpec,
): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries([
    ...command.options.map((o) => [o.name, { type: o.value ? 'string' : 'boolean' } as const]),
    ['help', { type: 'boolean', short: 'h' } as const],
  ]);
}
