// `npm run doctor`: each pre-flight check against a temporary project, once failing and once
// passing, and the deploy refusing to go online when one fails.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDeploy, type DeployOptions } from '../../deploy/src/deploy';
import { offlineDeploy } from './support/offline-deploy';
import {
  appFacts,
  checkBundles,
  checkCallbacks,
  checkCollections,
  checkEnvId,
  checkFunctionConfigs,
  checkMerchant,
  consoleReminder,
  formatChecks,
  runChecks,
  runDoctor,
  type AppFacts,
} from '../../deploy/src/doctor';

const ENV_ID = 'prod-8g2k3abc1234';
const MCH = '1234567890';
const FACTS: AppFacts = { callbacks: ['paid', 'refunded'], collections: ['ORDERS', 'UNLOCKS'] };
const repoRoot = path.resolve(__dirname, '..', '..');

let root: string;

function write(rel: string, content: string): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** Sets a file's modification time to a fixed second, so staleness never depends on timing. */
function touch(rel: string, seconds: number): void {
  fs.utimesSync(path.join(root, rel), seconds, seconds);
}

function addFunction(name: string, config: unknown = { timeout: 20 }): void {
  write(`cloudfunctions/${name}/package.json`, '{}');
  write(`cloudfunctions/${name}/index.ts`, 'export const main = 1;');
  write(`cloudfunctions/${name}/config.json`, JSON.stringify(config));
  write(`cloudfunctions/${name}/index.js`, 'exports.main = 1;');
}

/** A project that passes every check: bundles at t=2000, sources at t=1000. */
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-test-'));
  addFunction('paid');
  addFunction('refunded');
  addFunction('expire', {
    timeout: 60,
    triggers: [{ name: 'tick', type: 'timer', config: '0 */5 * * * * *' }],
  });
  write('server/config.ts', 'export {};');
  write('server/lib/util.ts', 'export {};');
  write('database/ORDERS.json', JSON.stringify({ rules: { read: false, write: false } }));
  write('database/UNLOCKS.json', JSON.stringify({ rules: { read: true, write: false } }));
  write('cloudpay.config.local.json', JSON.stringify({ subMchId: MCH, envId: ENV_ID }));
  for (const rel of ['server/config.ts', 'server/lib/util.ts', 'cloudpay.config.local.json']) {
    touch(rel, 1000);
  }
  for (const fn of ['paid', 'refunded', 'expire']) {
    touch(`cloudfunctions/${fn}/index.ts`, 1000);
    touch(`cloudfunctions/${fn}/index.js`, 2000);
  }
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const goodEnv = { CLOUDPAY_ENV_ID: ENV_ID };

describe('env id', () => {
  test('passes for a full id from the environment or from deploy/deploy.config.json', () => {
    expect(checkEnvId(root, goodEnv)).toMatchObject({
      mark: '✓',
      detail: expect.stringContaining(ENV_ID),
    });
    write('deploy/deploy.config.json', JSON.stringify({ envId: ENV_ID }));
    expect(checkEnvId(root, {}).mark).toBe('✓');
  });

  test('fails when missing, an alias, or contradicted by the inlined local config', () => {
    expect(checkEnvId(root, {})).toMatchObject({
      mark: '✗',
      detail: expect.stringMatching(/CLOUDPAY_ENV_ID .*not set.*环境 ID/),
    });
    expect(checkEnvId(root, { CLOUDPAY_ENV_ID: 'prod' })).toMatchObject({
      mark: '✗',
      detail: expect.stringMatching(/"prod" looks like an env alias/),
    });
    write('cloudpay.config.local.json', JSON.stringify({ subMchId: MCH, envId: 'prod' }));
    expect(checkEnvId(root, goodEnv).detail).toMatch(
      /"envId" in cloudpay\.config\.local\.json is "prod", an alias: the build inlines it/,
    );
    write('cloudpay.config.local.json', JSON.stringify({ envId: 'test-9zz8yy7x' }));
    expect(checkEnvId(root, goodEnv).detail).toMatch(
      /functions would go to prod-8g2k3abc1234 but .* they run in test-9zz8yy7x/,
    );
    write('deploy/deploy.config.json', '{"envId": ');
    expect(checkEnvId(root, goodEnv)).toMatchObject({
      mark: '✗',
      detail: expect.stringMatching(/deploy\.config\.json is not valid JSON/),
    });
  });
});

describe('merchant id', () => {
  test('passes when inlined from cloudpay.config.local.json', () => {
    expect(checkMerchant(root, {})).toMatchObject({
      mark: '✓',
      detail: expect.stringMatching(/1234567890 from cloudpay\.config\.local\.json, inlined/),
    });
  });

  test('set in the shell only: a warning that the console must carry it', () => {
    write('cloudpay.config.local.json', JSON.stringify({ envId: ENV_ID }));
    expect(checkMerchant(root, { CLOUDPAY_SUB_MCH_ID: MCH })).toMatchObject({
      mark: '!',
      detail: expect.stringMatching(
        /set in this shell only.*CLOUDPAY_SUB_MCH_ID=1234567890 as an environment variable of every function in the console/,
      ),
    });
  });

  test('fails when missing, malformed, or the emulator sandbox merchant', () => {
    write('cloudpay.config.local.json', JSON.stringify({ envId: ENV_ID }));
    expect(checkMerchant(root, {})).toMatchObject({
      mark: '✗',
      detail: expect.stringMatching(/neither CLOUDPAY_SUB_MCH_ID nor "subMchId".*商户号/),
    });
    expect(checkMerchant(root, { CLOUDPAY_SUB_MCH_ID: '12ab' }).detail).toMatch(
      /CLOUDPAY_SUB_MCH_ID "12ab" is not an 8-12 digit 商户号/,
    );
    write('cloudpay.config.local.json', JSON.stringify({ subMchId: '1900000109' }));
    expect(checkMerchant(root, {})).toMatchObject({
      mark: '✗',
      detail: expect.stringMatching(/1900000109, the local emulator's sandbox merchant/),
    });
  });
});

describe('function config.json', () => {
  test('passes and names the timer triggers', () => {
    expect(checkFunctionConfigs(root).check).toEqual({
      mark: '✓',
      name: 'function config.json',
      detail: '3 functions (expire, paid, refunded); timer triggers: expire "0 */5 * * * * *"',
    });
  });

  test('fails on a five-field cron or invalid JSON, naming the file', () => {
    write(
      'cloudfunctions/expire/config.json',
      JSON.stringify({ triggers: [{ name: 'tick', type: 'timer', config: '*/5 * * * *' }] }),
    );
    expect(checkFunctionConfigs(root).check).toMatchObject({
      mark: '✗',
      detail: expect.stringMatching(
        /expire\/config\.json: triggers\[0\]\.config must be a 7-field cron/,
      ),
    });
    // planFunctions stops at the first bad folder: fix one, the next one shows.
    write('cloudfunctions/expire/config.json', '{}');
    write('cloudfunctions/paid/config.json', '{');
    expect(checkFunctionConfigs(root).check.detail).toMatch(/paid\/config\.json is not valid JSON/);
  });
});

describe('callback functions', () => {
  test('pass when their folders exist', () => {
    expect(checkCallbacks(root, FACTS).map((c) => c.mark)).toEqual(['✓', '✓']);
  });

  test('fail when a callback named in the code has no folder', () => {
    fs.rmSync(path.join(root, 'cloudfunctions/refunded'), { recursive: true });
    expect(checkCallbacks(root, FACTS)[1]).toEqual({
      mark: '✗',
      name: 'callback refunded',
      detail:
        'the code names refunded as a WeChat Pay callback (server/config.ts) but cloudfunctions/refunded/package.json does not exist',
    });
  });

  test('the names come from server/config.ts and the collections from server/records.ts', () => {
    expect(appFacts()).toEqual({
      callbacks: ['userpaynotify', 'payrefundnotify'],
      collections: ['USERPAYLOG', 'USERUNLOCK', 'PAYANOMALY', 'PAIDCONTENT'],
    });
  });
});

describe('collections', () => {
  test('pass when each one used is declared in database/', () => {
    expect(checkCollections(root, FACTS).mark).toBe('✓');
  });

  test('fail naming the undeclared ones', () => {
    fs.rmSync(path.join(root, 'database/UNLOCKS.json'));
    expect(checkCollections(root, FACTS)).toMatchObject({
      mark: '✗',
      detail: expect.stringMatching(/not declared in database\/: UNLOCKS\.json$/),
    });
  });
});

describe('function bundles', () => {
  test('pass when every index.js is newer than its sources', () => {
    expect(checkBundles(root)).toMatchObject({
      mark: '✓',
      detail: '3 index.js newer than their sources',
    });
  });

  test('fail when a shared server file, the function source or the local config is newer', () => {
    touch('server/lib/util.ts', 3000);
    let check = checkBundles(root);
    expect(check.mark).toBe('✗');
    expect(check.more).toEqual([
      'expire: older than server/lib/util.ts',
      'paid: older than server/lib/util.ts',
      'refunded: older than server/lib/util.ts',
    ]);
    touch('server/lib/util.ts', 1000);
    touch('cloudfunctions/paid/index.ts', 3000);
    touch('cloudpay.config.local.json', 2500);
    check = checkBundles(root);
    expect(check.more).toEqual([
      'expire: older than cloudpay.config.local.json',
      'paid: older than cloudfunctions/paid/index.ts, cloudpay.config.local.json',
      'refunded: older than cloudpay.config.local.json',
    ]);
  });

  test('fail when a bundle is missing', () => {
    fs.rmSync(path.join(root, 'cloudfunctions/paid/index.js'));
    expect(checkBundles(root)).toMatchObject({ mark: '✗', more: ['paid: no index.js'] });
  });
});

test('the console reminder is always a warning, with the timeouts from config.json', () => {
  const reminder = consoleReminder(root, checkFunctionConfigs(root).plans);
  expect(reminder.mark).toBe('!');
  expect(reminder.more).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/微信支付配置/),
      '  expire: timeout 60 s; environment variables: CLOUDPAY_SUB_MCH_ID (optional: "subMchId" is inlined from cloudpay.config.local.json)',
      '  paid: timeout 20 s; environment variables: CLOUDPAY_SUB_MCH_ID (optional: "subMchId" is inlined from cloudpay.config.local.json)',
    ]),
  );
});

describe('runDoctor', () => {
  test('one line per check; exit 0 when only ✓ and !', () => {
    const output: string[] = [];
    expect(runDoctor({ root, env: goodEnv, facts: FACTS, log: (l) => output.push(l) })).toBe(0);
    const heads = output.filter((l) => /^[✓✗!] /.test(l)).map((l) => l.split(':')[0]);
    expect(heads).toEqual([
      '✓ env id',
      '✓ merchant id',
      '✓ function config.json',
      '✓ callback paid',
      '✓ callback refunded',
      '✓ collections',
      '✓ function bundles',
      '! console only',
    ]);
    expect(output[output.length - 1]).toBe('Pre-flight checks passed.');
  });

  test('exit 1 on any ✗, counting them', () => {
    const output: string[] = [];
    expect(runDoctor({ root, env: {}, facts: FACTS, log: (l) => output.push(l) })).toBe(1);
    expect(output[output.length - 1]).toBe('1 pre-flight check failed (✗ above).');
  });

  test('the repository itself: everything but the settings passes after npm test builds', () => {
    const checks = runChecks({
      root: repoRoot,
      env: { CLOUDPAY_ENV_ID: ENV_ID, CLOUDPAY_SUB_MCH_ID: MCH },
    });
    const failed = checks.filter((c) => c.mark === '✗');
    // A local cloudpay.config.local.json may legitimately disagree; nothing else may fail.
    expect(failed.filter((c) => !['env id', 'merchant id'].includes(c.name))).toEqual([]);
    expect(formatChecks(checks).join('\n')).toContain(
      '✓ collections: USERPAYLOG, USERUNLOCK, PAYANOMALY, PAIDCONTENT declared in database/',
    );
  });
});

describe('deploy runs the pre-flight checks before any network', () => {
  // Valid deploy settings, so the pre-flight checks are what stop the deploy.
  let settingsEnv: Record<string, string>;
  beforeEach(() => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    write('upload.key', privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    settingsEnv = {
      ...goodEnv,
      WX_APPID: 'wx1234567890abcdef',
      WX_UPLOAD_KEY_PATH: path.join(root, 'upload.key'),
    };
  });

  function options(overrides: Partial<DeployOptions>): {
    options: DeployOptions;
    output: string[];
  } {
    return offlineDeploy(
      { root, env: settingsEnv },
      {
        preflight: (log) => runDoctor({ root, env: goodEnv, facts: FACTS, log }) === 0,
        ...overrides,
      },
    );
  }

  test('a failing check stops a real deploy: no upload, no request', async () => {
    fs.rmSync(path.join(root, 'database/UNLOCKS.json'));
    const opened = jest.fn();
    const { options: o, output } = options({ openUploader: opened });
    expect(await runDeploy(o)).toBe(1);
    expect(opened).not.toHaveBeenCalled();
    const text = output.join('\n');
    expect(text).toContain('Pre-flight checks (npm run doctor):');
    expect(text).toMatch(/✗ collections: .*UNLOCKS\.json/);
    expect(text).toContain('nothing was uploaded: fix the ✗ above first');
  });

  test('a dry run still prints the plan after a failing check, and fails', async () => {
    const passing = options({ dryRun: true });
    expect(await runDeploy(passing.options)).toBe(0);
    touch('server/config.ts', 3000);
    const { options: o, output } = options({ dryRun: true });
    expect(await runDeploy(o)).toBe(1);
    const text = output.join('\n');
    expect(text).toMatch(/✗ function bundles: stale/);
    expect(text).toContain(`Functions → env ${ENV_ID}`);
  });
});
