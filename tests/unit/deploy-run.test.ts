// `npm run deploy` without the network and without miniprogram-ci: the timeout wrapper, the upload
// sequence against a recording fake, runDeploy end to end, and no secret in its output.
import path from 'node:path';
import { TRIGGER_CREATED, type CloudUploader } from '../../deploy/src/ci';
import {
  DEFAULT_TIMEOUTS,
  DeployError,
  runDeploy,
  uploadFunctions,
  type DeployOptions,
} from '../../deploy/src/deploy';
import { planFunctions } from '../../deploy/src/plan';
import type { DeploySettings } from '../../deploy/src/settings';
import { TimeoutError, withTimeout } from '../../deploy/src/timeout';
import type { Fetch } from '../../deploy/src/wechat-api';
import { offlineDeploy } from './support/offline-deploy';
import {
  APPID,
  ENV_ID,
  goodEnv,
  project,
  repoRoot,
  SECRET,
  useDeployProject,
} from './support/deploy-project';

useDeployProject();

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
    await uploadFunctions(planFunctions(project.root), settings, uploader, quiet);
    expect(calls).toEqual([
      {
        method: 'uploadFunction',
        options: {
          env: ENV_ID,
          name: 'alpha',
          path: path.join(project.root, 'cloudfunctions/alpha'),
          remoteNpmInstall: true,
        },
      },
      {
        method: 'uploadFunction',
        options: {
          env: ENV_ID,
          name: 'beta',
          path: path.join(project.root, 'cloudfunctions/beta'),
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
    const run = uploadFunctions(planFunctions(project.root), settings, uploader, quiet);
    await expect(run).rejects.toThrow(DeployError);
    await expect(run).rejects.toThrow(
      /createTimeTrigger alpha failed: .*请检查传入的 triggersConfig.*--skip-triggers/,
    );
  });

  test('--skip-triggers uploads code only', async () => {
    const { uploader, calls } = fakeUploader({ trigger: 'would fail' });
    await uploadFunctions(planFunctions(project.root), settings, uploader, {
      ...quiet,
      skipTriggers: true,
    });
    expect(calls.map((c) => c.method)).toEqual(['uploadFunction', 'uploadFunction']);
  });

  test('a failed upload stops the deploy and says what was uploaded', async () => {
    const { uploader, calls } = fakeUploader({ failUpload: 'beta' });
    await expect(
      uploadFunctions(planFunctions(project.root), settings, uploader, quiet),
    ).rejects.toThrow(
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
      const run = uploadFunctions(planFunctions(project.root), settings, stalled, quiet);
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
  return offlineDeploy({ root: project.root, env: goodEnv() }, overrides);
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
    expect(text).toContain(`upload key ${project.keyPath}`);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(project.keyPem.split('\n')[1]);
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
      env: {
        ...goodEnv(),
        WX_UPLOAD_KEY_PATH: path.join(project.root, 'cloudfunctions/beta/index.js'),
      },
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
