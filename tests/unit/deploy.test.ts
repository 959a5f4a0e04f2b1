// `npm run deploy` without the network and without miniprogram-ci: settings checks, the dry-run
// plan, the timeout wrapper, the upload sequence against a recording fake, and no secret in output.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRIGGER_CREATED, type CloudUploader } from '../../deploy/src/ci';
import {
  DEFAULT_TIMEOUTS,
  DeployError,
  runDeploy,
  uploadFunctions,
  type DeployOptions,
} from '../../deploy/src/deploy';
import { databaseRequests, planDatabase, planFunctions, PlanError } from '../../deploy/src/plan';
import {
  looksLikeFullEnvId,
  resolveSettings,
  SettingsError,
  type DeploySettings,
} from '../../deploy/src/settings';
import { TimeoutError, withTimeout } from '../../deploy/src/timeout';
import { offlineDeploy } from './support/offline-deploy';
import type { Fetch } from '../../deploy/src/wechat-api';

const APPID = 'wx1234567890abcdef';
const ENV_ID = 'prod-8g2k3abc1234';
const SECRET = '0123456789abcdef0123456789abcdef';
const repoRoot = path.resolve(__dirname, '..', '..');

let root: string;
let keyPath: string;
let keyPem: string;

function write(rel: string, content: string): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** A small project: two functions (one with a timer trigger), one collection, a real RSA key. */
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-test-'));
  write('project.config.json', JSON.stringify({ appid: 'wx0000000000000000' }));
  write('cloudfunctions/alpha/index.js', 'exports.main = 1;\n'); // 18 bytes
  write('cloudfunctions/alpha/package.json', '{}'); // 2 bytes
  write(
    'cloudfunctions/alpha/config.json',
    JSON.stringify({
      timeout: 60,
      triggers: [{ name: 'tick', type: 'timer', config: '0 */5 * * * * *' }],
    }),
  );
  write('cloudfunctions/alpha/node_modules/dep/index.js', 'ignored');
  write('cloudfunctions/alpha/lib/util.js', 'x'); // 1 byte
  write('cloudfunctions/beta/index.js', 'b');
  write('cloudfunctions/beta/package.json', '{}');
  write('cloudfunctions/notafunction/readme.txt', 'no package.json here');
  write(
    'database/ORDERS.json',
    JSON.stringify({
      rules: { read: 'doc._openid == auth.openid', write: false },
      indexes: [
        { name: 'tradeno_unique', keys: { tradeno: 1 }, unique: true },
        { name: 'owner_time', keys: { _openid: 1, at: -1 } },
      ],
    }),
  );
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
  keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  keyPath = path.join(root, `private.${APPID}.key`);
  fs.writeFileSync(keyPath, keyPem);
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const goodEnv = (): Record<string, string> => ({
  WX_APPID: APPID,
  WX_UPLOAD_KEY_PATH: keyPath,
  CLOUDPAY_ENV_ID: ENV_ID,
  WX_APPSECRET: SECRET,
});

function problemsFor(env: Record<string, string | undefined>, requireAppSecret = false): string[] {
  try {
    resolveSettings({ root, env, requireAppSecret });
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  return [];
}

describe('deploy settings', () => {
  test('accepts well-formed settings and an RSA key generated here', () => {
    const settings = resolveSettings({ root, env: goodEnv(), requireAppSecret: true });
    expect(settings).toEqual({
      appid: APPID,
      privateKeyPath: keyPath,
      envId: ENV_ID,
      appSecret: SECRET,
    });
  });

  test('each missing setting is named, with where to get it', () => {
    const problems = problemsFor({}, true);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^WX_APPID .*not set.*开发设置 → 开发者ID → AppID/);
    expect(problems[1]).toMatch(
      /^WX_UPLOAD_KEY_PATH .*not set.*小程序代码上传 → 上传密钥.*IP 白名单/,
    );
    expect(problems[2]).toMatch(/^CLOUDPAY_ENV_ID .*not set.*环境 ID/);
    expect(problems[3]).toMatch(/^WX_APPSECRET .*not set.*AppSecret.*--database/);
  });

  test('the AppSecret is only required for --database', () => {
    const { WX_APPSECRET: _unused, ...env } = goodEnv();
    expect(problemsFor(env, false)).toEqual([]);
  });

  test('a malformed appid is refused; the placeholder in project.config.json is not an appid', () => {
    expect(problemsFor({ ...goodEnv(), WX_APPID: 'wx123' })).toEqual([
      expect.stringMatching(/WX_APPID.*"wx123" is not a mini-program AppID.*16 lowercase hex/),
    ]);
    const { WX_APPID: _unused, ...noAppid } = goodEnv();
    expect(problemsFor(noAppid)).toEqual([expect.stringMatching(/^WX_APPID .*not set/)]);
    write('project.config.json', JSON.stringify({ appid: APPID }));
    expect(resolveSettings({ root, env: noAppid, requireAppSecret: false }).appid).toBe(APPID);
  });

  test('an env alias is refused, full env ids pass', () => {
    for (const alias of ['prod', 'my-env', 'test-dev']) {
      expect(problemsFor({ ...goodEnv(), CLOUDPAY_ENV_ID: alias })).toEqual([
        expect.stringMatching(new RegExp(`CLOUDPAY_ENV_ID.*"${alias}" looks like an env alias`)),
      ]);
    }
    for (const full of [ENV_ID, 'cloud1-0gwe8abc5c1f52', 'test2-4a89da', 'dev-3gewtf9c10f60c76']) {
      expect(looksLikeFullEnvId(full)).toBe(true);
    }
  });

  test('a key file that does not exist or does not parse fails before any network', () => {
    expect(problemsFor({ ...goodEnv(), WX_UPLOAD_KEY_PATH: path.join(root, 'nope.key') })).toEqual([
      expect.stringMatching(/WX_UPLOAD_KEY_PATH.*no file at .*nope\.key.*上传密钥/),
    ]);
    const bogus = path.join(root, 'bogus.key');
    fs.writeFileSync(
      bogus,
      '-----BEGIN RSA PRIVATE KEY-----\nSECRETGARBAGE\n-----END RSA PRIVATE KEY-----\n',
    );
    const [problem] = problemsFor({ ...goodEnv(), WX_UPLOAD_KEY_PATH: bogus });
    expect(problem).toMatch(/WX_UPLOAD_KEY_PATH.*bogus\.key is not a PEM private key/);
    expect(problem).not.toContain('SECRETGARBAGE');
  });

  test('a non-RSA key, or the key of another appid, is refused', () => {
    const ec = path.join(root, 'ec.key');
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    fs.writeFileSync(ec, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(problemsFor({ ...goodEnv(), WX_UPLOAD_KEY_PATH: ec })).toEqual([
      expect.stringMatching(/ec\.key holds a ec key.*RSA/),
    ]);
    const other = path.join(root, 'private.wxaaaaaaaaaaaaaaaa.key');
    fs.writeFileSync(other, keyPem);
    expect(problemsFor({ ...goodEnv(), WX_UPLOAD_KEY_PATH: other })).toEqual([
      expect.stringMatching(/upload key of wxaaaaaaaaaaaaaaaa, not of wx1234567890abcdef/),
    ]);
  });

  test('a malformed AppSecret is refused without echoing it', () => {
    const [problem] = problemsFor({ ...goodEnv(), WX_APPSECRET: 'NOT-A-SECRET-VALUE' }, true);
    expect(problem).toMatch(/WX_APPSECRET.*is not an AppSecret/);
    expect(problem).not.toContain('NOT-A-SECRET-VALUE');
  });

  test('deploy/deploy.config.json: read, overridden by env vars, and checked', () => {
    write(
      'deploy/deploy.config.json',
      JSON.stringify({
        appid: APPID,
        privateKeyPath: path.basename(keyPath),
        envId: 'file-9abc1234',
      }),
    );
    // Relative key paths resolve against the project root.
    expect(resolveSettings({ root, env: {}, requireAppSecret: false })).toEqual({
      appid: APPID,
      privateKeyPath: keyPath,
      envId: 'file-9abc1234',
    });
    expect(
      resolveSettings({ root, env: { CLOUDPAY_ENV_ID: ENV_ID }, requireAppSecret: false }).envId,
    ).toBe(ENV_ID);
    write('deploy/deploy.config.json', '{"appid": ');
    expect(problemsFor(goodEnv())).toEqual([
      expect.stringMatching(/deploy\.config\.json is not valid JSON/),
    ]);
    write('deploy/deploy.config.json', JSON.stringify({ envid: ENV_ID, appid: 7 }));
    expect(problemsFor(goodEnv())).toEqual([
      expect.stringMatching(/unknown key "envid"/),
      expect.stringMatching(/"appid" must be a string/),
    ]);
  });
});

describe('deploy plan', () => {
  test('lists each function folder as miniprogram-ci zips it, with sizes and triggers', () => {
    const plans = planFunctions(root);
    expect(plans.map((p) => p.name)).toEqual(['alpha', 'beta']);
    const [alpha, beta] = plans;
    expect(alpha.files).toEqual([
      {
        path: 'config.json',
        size: fs.statSync(path.join(root, 'cloudfunctions/alpha/config.json')).size,
      },
      { path: 'index.js', size: 18 },
      { path: 'lib/util.js', size: 1 },
      { path: 'package.json', size: 2 },
    ]);
    expect(alpha.totalBytes).toBe(alpha.files.reduce((sum, f) => sum + f.size, 0));
    expect(alpha.timeoutSeconds).toBe(60);
    expect(alpha.triggers).toEqual([{ name: 'tick', type: 'timer', config: '0 */5 * * * * *' }]);
    expect(beta.triggers).toEqual([]);
    expect(beta.timeoutSeconds).toBeUndefined();
  });

  test('refuses a five-field cron, a non-timer trigger and a missing index.js', () => {
    write(
      'cloudfunctions/beta/config.json',
      JSON.stringify({ triggers: [{ name: 't', type: 'timer', config: '*/5 * * * *' }] }),
    );
    expect(() => planFunctions(root)).toThrow(
      /beta\/config\.json: triggers\[0\]\.config must be a 7-field cron/,
    );
    write(
      'cloudfunctions/beta/config.json',
      JSON.stringify({ triggers: [{ name: 't', type: 'http', config: 'x' }] }),
    );
    expect(() => planFunctions(root)).toThrow(/type must be "timer"/);
    fs.rmSync(path.join(root, 'cloudfunctions/beta/config.json'));
    fs.rmSync(path.join(root, 'cloudfunctions/beta/index.js'));
    expect(() => planFunctions(root)).toThrow(
      new PlanError('cloudfunctions/beta/index.js is missing: run npm run build first'),
    );
  });

  test('database files become the exact WeChat API requests', () => {
    const collections = planDatabase(root);
    expect(databaseRequests(ENV_ID, collections)).toEqual([
      { path: '/tcb/databasecollectionadd', body: { env: ENV_ID, collection_name: 'ORDERS' } },
      {
        path: '/tcb/updateindex',
        body: {
          env: ENV_ID,
          collection_name: 'ORDERS',
          create_indexes: [
            { name: 'tradeno_unique', unique: true, keys: [{ name: 'tradeno', direction: '1' }] },
          ],
          drop_indexes: [],
        },
      },
      {
        path: '/tcb/updateindex',
        body: {
          env: ENV_ID,
          collection_name: 'ORDERS',
          create_indexes: [
            {
              name: 'owner_time',
              unique: false,
              keys: [
                { name: '_openid', direction: '1' },
                { name: 'at', direction: '-1' },
              ],
            },
          ],
          drop_indexes: [],
        },
      },
    ]);
  });

  test('a geo index is sent with direction "2dsphere"', () => {
    // updateindex's legal directions: "1", "-1", "2dsphere" (WeChat server API, updateIndex).
    write(
      'database/PLACES.json',
      JSON.stringify({
        rules: { read: true },
        indexes: [{ name: 'loc_geo', keys: { loc: '2dsphere' } }],
      }),
    );
    const places = planDatabase(root).filter((c) => c.collection === 'PLACES');
    expect(databaseRequests(ENV_ID, places)).toContainEqual({
      path: '/tcb/updateindex',
      body: {
        env: ENV_ID,
        collection_name: 'PLACES',
        create_indexes: [
          { name: 'loc_geo', unique: false, keys: [{ name: 'loc', direction: '2dsphere' }] },
        ],
        drop_indexes: [],
      },
    });
  });

  test('the repository itself: eight functions, payexpire on a timer, four collections', () => {
    // `npm test` builds first (pretest), so every index.js exists.
    const plans = planFunctions(repoRoot);
    expect(plans.map((p) => p.name)).toEqual([
      'getcatalog',
      'getcontent',
      'payexpire',
      'payquery',
      'payrefund',
      'payrefundnotify',
      'userpay',
      'userpaynotify',
    ]);
    for (const plan of plans) expect(plan.files.map((f) => f.path)).toContain('index.js');
    expect(plans.filter((p) => p.triggers.length > 0).map((p) => p.name)).toEqual(['payexpire']);
    expect(planDatabase(repoRoot).map((c) => c.collection)).toEqual([
      'PAIDCONTENT',
      'PAYANOMALY',
      'USERPAYLOG',
      'USERUNLOCK',
    ]);
  });
});

describe('withTimeout', () => {
  afterEach(() => jest.useRealTimers());

  test('passes a result or an error through', async () => {
    await expect(withTimeout('step', 1000, async () => 42)).resolves.toBe(42);
    await expect(
      withTimeout('step', 1000, async () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
  });

  test('rejects with a TimeoutError naming the step, and aborts the signal', async () => {
    jest.useFakeTimers();
    let signal: AbortSignal | undefined;
    const pending = withTimeout('uploadFunction userpay', 30_000, (s) => {
      signal = s;
      return new Promise<never>(() => undefined);
    });
    jest.advanceTimersByTime(29_999);
    expect(signal?.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    await expect(pending).rejects.toThrow(new TimeoutError('uploadFunction userpay', 30_000));
    await expect(pending).rejects.toThrow('uploadFunction userpay did not finish within 30 s');
    expect(signal?.aborted).toBe(true);
  });
});

type Call = { method: 'uploadFunction' | 'createTimeTrigger'; options: Record<string, unknown> };

/** Records every call; `trigger` is what createTimeTrigger returns, `failUpload` makes one throw. */
function fakeUploader(behaviour: { trigger?: unknown; failUpload?: string } = {}): {
  uploader: CloudUploader;
  calls: Call[];
} {
  const calls: Call[] = [];
  return {
    calls,
    uploader: {
      async uploadFunction(options) {
        calls.push({ method: 'uploadFunction', options });
        if (options.name === behaviour.failUpload) throw new Error('env not found');
        return { filesCount: 4, packSize: 1234 };
      },
      async createTimeTrigger(options) {
        calls.push({ method: 'createTimeTrigger', options });
        return 'trigger' in behaviour ? behaviour.trigger : TRIGGER_CREATED;
      },
    },
  };
}

const settings: DeploySettings = { appid: APPID, privateKeyPath: '/k', envId: ENV_ID };
const quiet = { log: () => undefined, timeouts: DEFAULT_TIMEOUTS, skipTriggers: false };

describe('upload sequence', () => {
  test('uploads every function with remote npm install, then creates the timer trigger', async () => {
    const { uploader, calls } = fakeUploader();
    await uploadFunctions(planFunctions(root), settings, uploader, quiet);
    expect(calls).toEqual([
      {
        method: 'uploadFunction',
        options: {
          env: ENV_ID,
          name: 'alpha',
          path: path.join(root, 'cloudfunctions/alpha'),
          remoteNpmInstall: true,
        },
      },
      {
        method: 'uploadFunction',
        options: {
          env: ENV_ID,
          name: 'beta',
          path: path.join(root, 'cloudfunctions/beta'),
          remoteNpmInstall: true,
        },
      },
      {
        method: 'createTimeTrigger',
        options: {
          envId: ENV_ID,
          functionName: 'alpha',
          triggersConfig: [{ name: 'tick', type: 'timer', config: '0 */5 * * * * *' }],
        },
      },
    ]);
  });

  test('the real functions: payexpire gets its trigger after all eight uploads', async () => {
    const { uploader, calls } = fakeUploader();
    await uploadFunctions(planFunctions(repoRoot), settings, uploader, quiet);
    expect(calls.map((c) => `${c.method} ${c.options.name ?? c.options.functionName}`)).toEqual([
      'uploadFunction getcatalog',
      'uploadFunction getcontent',
      'uploadFunction payexpire',
      'uploadFunction payquery',
      'uploadFunction payrefund',
      'uploadFunction payrefundnotify',
      'uploadFunction userpay',
      'uploadFunction userpaynotify',
      'createTimeTrigger payexpire',
    ]);
  });

  test("createTimeTrigger's error string is a failure", async () => {
    const { uploader } = fakeUploader({ trigger: '请检查传入的 triggersConfig 是否符合格式' });
    const run = uploadFunctions(planFunctions(root), settings, uploader, quiet);
    await expect(run).rejects.toThrow(DeployError);
    await expect(run).rejects.toThrow(
      /createTimeTrigger alpha failed: .*请检查传入的 triggersConfig.*--skip-triggers/,
    );
  });

  test('--skip-triggers uploads code only', async () => {
    const { uploader, calls } = fakeUploader({ trigger: 'would fail' });
    await uploadFunctions(planFunctions(root), settings, uploader, {
      ...quiet,
      skipTriggers: true,
    });
    expect(calls.map((c) => c.method)).toEqual(['uploadFunction', 'uploadFunction']);
  });

  test('a failed upload stops the deploy and says what was uploaded', async () => {
    const { uploader, calls } = fakeUploader({ failUpload: 'beta' });
    await expect(uploadFunctions(planFunctions(root), settings, uploader, quiet)).rejects.toThrow(
      /uploadFunction beta failed: env not found: prod-8g2k3abc1234 is not an environment of wx1234567890abcdef; use the FULL env id[\s\S]*uploaded: alpha; not uploaded: beta/,
    );
    expect(calls.map((c) => c.method)).toEqual(['uploadFunction', 'uploadFunction']);
  });

  test('a stalled upload times out', async () => {
    jest.useFakeTimers();
    try {
      const stalled: CloudUploader = {
        uploadFunction: () => new Promise(() => undefined),
        createTimeTrigger: async () => TRIGGER_CREATED,
      };
      const run = uploadFunctions(planFunctions(root), settings, stalled, quiet);
      const settled = run.catch((err: unknown) => err);
      await jest.advanceTimersByTimeAsync(DEFAULT_TIMEOUTS.uploadMs);
      expect(String(await settled)).toMatch(
        /uploadFunction alpha failed: uploadFunction alpha did not finish within 300 s/,
      );
    } finally {
      jest.useRealTimers();
    }
  });
});

/** A fake WeChat API: records requests (URL without the token) and answers from a table. */
function fakeFetch(answers: Record<string, unknown>): {
  fetch: Fetch;
  requests: { url: string; body: unknown }[];
} {
  const requests: { url: string; body: unknown }[] = [];
  return {
    requests,
    fetch: async (url, init) => {
      requests.push({ url, body: JSON.parse(init.body) });
      const apiPath = new URL(url).pathname;
      return { status: 200, json: async () => answers[apiPath] ?? { errcode: 0, errmsg: 'ok' } };
    },
  };
}

const TOKEN = 'ACCESS-TOKEN-VALUE-1234';

function deployOptions(overrides: Partial<DeployOptions>): {
  options: DeployOptions;
  output: string[];
} {
  return offlineDeploy({ root, env: goodEnv() }, overrides);
}

describe('runDeploy', () => {
  test('--dry-run prints the whole plan, loads nothing, sends nothing, prints no secret', async () => {
    const { options, output } = deployOptions({ dryRun: true, database: true });
    expect(await runDeploy(options)).toBe(0);
    const text = output.join('\n');
    expect(text).toContain(`Functions → env ${ENV_ID}`);
    expect(text).toMatch(
      /alpha \(4 files, .*\)\n {4}config\.json {2}\d+ B\n {4}index\.js {2}18 B\n {4}lib\/util\.js {2}1 B/,
    );
    expect(text).toContain('trigger tick: timer "0 */5 * * * * *"');
    expect(text).not.toContain('node_modules');
    expect(text).toContain(
      `POST https://api.weixin.qq.com/tcb/databasecollectionadd?access_token=<token> {"env":"${ENV_ID}","collection_name":"ORDERS"}`,
    );
    expect(text).toContain(
      'ORDERS: 数据权限 → 自定义安全规则 → paste {"read":"doc._openid == auth.openid","write":false}',
    );
    expect(text).toContain('alpha: timeout 60 s; environment variables: CLOUDPAY_SUB_MCH_ID');
    expect(text).toContain(`upload key ${keyPath}`);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(keyPem.split('\n')[1]);
  });

  test('--dry-run with bad settings shows the plan, then the problems, and fails', async () => {
    const { options, output } = deployOptions({ dryRun: true, env: { CLOUDPAY_ENV_ID: 'prod' } });
    expect(await runDeploy(options)).toBe(1);
    const text = output.join('\n');
    expect(text).toContain('Functions → env <CLOUDPAY_ENV_ID>');
    expect(text).toMatch(/WX_APPID .*not set/);
    expect(text).toMatch(/"prod" looks like an env alias/);
  });

  test('a real deploy with bad settings stops before loading miniprogram-ci or the network', async () => {
    const opened = jest.fn();
    const { options, output } = deployOptions({
      env: { ...goodEnv(), WX_UPLOAD_KEY_PATH: path.join(root, 'cloudfunctions/beta/index.js') },
      openUploader: opened,
    });
    expect(await runDeploy(options)).toBe(1);
    expect(opened).not.toHaveBeenCalled();
    expect(output.join('\n')).toMatch(/beta\/index\.js is not a PEM private key/);
  });

  test('--database creates missing collections and indexes, then uploads; no token or secret printed', async () => {
    const { fetch, requests } = fakeFetch({
      '/cgi-bin/stable_token': { access_token: TOKEN, expires_in: 7200 },
      '/tcb/databasecollectionget': { errcode: 0, collections: [] },
      '/tcb/updateindex': { errcode: -502003, errmsg: 'index already exists' },
    });
    const { uploader, calls } = fakeUploader();
    const closed = jest.fn();
    const { options, output } = deployOptions({
      database: true,
      fetch,
      openUploader: () => ({ uploader, close: closed }),
    });
    expect(await runDeploy(options)).toBe(0);
    expect(requests.map((r) => r.url.replace(TOKEN, '<token>'))).toEqual([
      'https://api.weixin.qq.com/cgi-bin/stable_token',
      'https://api.weixin.qq.com/tcb/databasecollectionget?access_token=<token>',
      'https://api.weixin.qq.com/tcb/databasecollectionadd?access_token=<token>',
      'https://api.weixin.qq.com/tcb/updateindex?access_token=<token>',
      'https://api.weixin.qq.com/tcb/updateindex?access_token=<token>',
    ]);
    expect(requests[0].body).toEqual({
      grant_type: 'client_credential',
      appid: APPID,
      secret: SECRET,
    });
    expect(calls.map((c) => c.method)).toEqual([
      'uploadFunction',
      'uploadFunction',
      'createTimeTrigger',
    ]);
    expect(closed).toHaveBeenCalledTimes(1);
    const text = output.join('\n');
    expect(text).toContain('+ collection ORDERS');
    expect(text).toContain(
      '= index ORDERS.tradeno_unique (unique) (already there: index already exists)',
    );
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(SECRET);
  });

  test('an existing collection is not created again; an API error fails before any upload', async () => {
    const { fetch, requests } = fakeFetch({
      '/cgi-bin/stable_token': { access_token: TOKEN },
      '/tcb/databasecollectionget': { errcode: 0, collections: [{ name: 'ORDERS' }] },
      '/tcb/updateindex': { errcode: 40097, errmsg: 'invalid args' },
    });
    const opened = jest.fn();
    const { options, output } = deployOptions({ database: true, fetch, openUploader: opened });
    expect(await runDeploy(options)).toBe(2);
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual([
      '/cgi-bin/stable_token',
      '/tcb/databasecollectionget',
      '/tcb/updateindex',
    ]);
    expect(opened).not.toHaveBeenCalled();
    const text = output.join('\n');
    expect(text).toContain('= collection ORDERS (already there)');
    expect(text).toMatch(
      /\/tcb\/updateindex failed: errcode 40097, invalid args \(index ORDERS\.tradeno_unique/,
    );
    expect(text).not.toContain(TOKEN);
  });

  test('a refused AppSecret names the setting and never echoes it', async () => {
    const { fetch } = fakeFetch({
      '/cgi-bin/stable_token': { errcode: 40125, errmsg: 'invalid appsecret' },
    });
    const { options, output } = deployOptions({ database: true, fetch });
    expect(await runDeploy(options)).toBe(2);
    const text = output.join('\n');
    expect(text).toMatch(
      /stable_token failed: errcode 40125, invalid appsecret \(check WX_APPSECRET and WX_APPID\)/,
    );
    expect(text).not.toContain(SECRET);
  });
});
