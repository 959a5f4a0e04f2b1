// `npm run deploy` without the network: the settings checks and the plan (what miniprogram-ci
// would zip and upload, and the exact WeChat API requests for the database files).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { databaseRequests, planDatabase, planFunctions, PlanError } from '../../deploy/src/plan';
import { looksLikeFullEnvId, resolveSettings, SettingsError } from '../../deploy/src/settings';
import {
  APPID,
  ENV_ID,
  goodEnv,
  project,
  repoRoot,
  SECRET,
  useDeployProject,
  write,
} from './support/deploy-project';

useDeployProject();

function problemsFor(env: Record<string, string | undefined>, requireAppSecret = false): string[] {
  try {
    resolveSettings({ root: project.root, env, requireAppSecret });
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  return [];
}

describe('deploy settings', () => {
  test('accepts well-formed settings and an RSA key generated here', () => {
    const settings = resolveSettings({
      root: project.root,
      env: goodEnv(),
      requireAppSecret: true,
    });
    expect(settings).toEqual({
      appid: APPID,
      privateKeyPath: project.keyPath,
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
    expect(
      resolveSettings({ root: project.root, env: noAppid, requireAppSecret: false }).appid,
    ).toBe(APPID);
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
    expect(
      problemsFor({ ...goodEnv(), WX_UPLOAD_KEY_PATH: path.join(project.root, 'nope.key') }),
    ).toEqual([expect.stringMatching(/WX_UPLOAD_KEY_PATH.*no file at .*nope\.key.*上传密钥/)]);
    const bogus = path.join(project.root, 'bogus.key');
    fs.writeFileSync(
      bogus,
      '-----BEGIN RSA PRIVATE KEY-----\nSECRETGARBAGE\n-----END RSA PRIVATE KEY-----\n',
    );
    const [problem] = problemsFor({ ...goodEnv(), WX_UPLOAD_KEY_PATH: bogus });
    expect(problem).toMatch(/WX_UPLOAD_KEY_PATH.*bogus\.key is not a PEM private key/);
    expect(problem).not.toContain('SECRETGARBAGE');
  });

  test('a non-RSA key, or the key of another appid, is refused', () => {
    const ec = path.join(project.root, 'ec.key');
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    fs.writeFileSync(ec, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(problemsFor({ ...goodEnv(), WX_UPLOAD_KEY_PATH: ec })).toEqual([
      expect.stringMatching(/ec\.key holds a ec key.*RSA/),
    ]);
    const other = path.join(project.root, 'private.wxaaaaaaaaaaaaaaaa.key');
    fs.writeFileSync(other, project.keyPem);
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
        privateKeyPath: path.basename(project.keyPath),
        envId: 'file-9abc1234',
      }),
    );
    // Relative key paths resolve against the project root.
    expect(resolveSettings({ root: project.root, env: {}, requireAppSecret: false })).toEqual({
      appid: APPID,
      privateKeyPath: project.keyPath,
      envId: 'file-9abc1234',
    });
    expect(
      resolveSettings({
        root: project.root,
        env: { CLOUDPAY_ENV_ID: ENV_ID },
        requireAppSecret: false,
      }).envId,
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
    const plans = planFunctions(project.root);
    expect(plans.map((p) => p.name)).toEqual(['alpha', 'beta']);
    const [alpha, beta] = plans;
    expect(alpha.files).toEqual([
      {
        path: 'config.json',
        size: fs.statSync(path.join(project.root, 'cloudfunctions/alpha/config.json')).size,
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
    expect(() => planFunctions(project.root)).toThrow(
      /beta\/config\.json: triggers\[0\]\.config must be a 7-field cron/,
    );
    write(
      'cloudfunctions/beta/config.json',
      JSON.stringify({ triggers: [{ name: 't', type: 'http', config: 'x' }] }),
    );
    expect(() => planFunctions(project.root)).toThrow(/type must be "timer"/);
    fs.rmSync(path.join(project.root, 'cloudfunctions/beta/config.json'));
    fs.rmSync(path.join(project.root, 'cloudfunctions/beta/index.js'));
    expect(() => planFunctions(project.root)).toThrow(
      new PlanError('cloudfunctions/beta/index.js is missing: run npm run build first'),
    );
  });

  test('database files become the exact WeChat API requests', () => {
    const collections = planDatabase(project.root);
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
    const places = planDatabase(project.root).filter((c) => c.collection === 'PLACES');
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
