// `npm run deploy -- --rules`: the TC3-HMAC-SHA256 signer against Tencent Cloud's documented
// example, the ModifySafeRule requests, the keys' checks, and the deploy with a recording fake.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRIGGER_CREATED, type CloudUploader } from '../../deploy/src/ci';
import { runDeploy, type DeployOptions } from '../../deploy/src/deploy';
import { offlineDeploy } from './support/offline-deploy';
import { planDatabase } from '../../deploy/src/plan';
import {
  applyRules,
  resolveTencentCredentials,
  safeRuleRequests,
  signTc3,
  TCB_HOST,
  type TencentCredentials,
} from '../../deploy/src/rules';
import type { Fetch } from '../../deploy/src/wechat-api';

/**
 * The worked example of Tencent Cloud's API 3.0 "签名方法 v3" page (CVM DescribeInstances in
 * Guangzhou, the request with SignedHeaders=content-type;host): the documented example keys, the
 * body with its \u escapes as sent, and each value the page prints along the way.
 */
const DOC = {
  secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE',
  secretKey: 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE',
  timestamp: 1551113065,
  payload: String.raw`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`,
  hashedPayload: '35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064',
  hashedCanonicalRequest: '5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031',
  signature: '72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168',
};

describe('TC3-HMAC-SHA256', () => {
  const signed = signTc3({
    secretId: DOC.secretId,
    secretKey: DOC.secretKey,
    service: 'cvm',
    host: 'cvm.tencentcloudapi.com',
    payload: DOC.payload,
    timestamp: DOC.timestamp,
  });

  test('reproduces the documented canonical request and string to sign byte for byte', () => {
    expect(signed.canonicalRequest).toBe(
      [
        'POST',
        '/',
        '',
        'content-type:application/json; charset=utf-8',
        'host:cvm.tencentcloudapi.com',
        '',
        'content-type;host',
        DOC.hashedPayload,
      ].join('\n'),
    );
    // The timestamp is 2019-02-26 00:44:25 in Beijing: the credential date must be the UTC one.
    expect(signed.stringToSign).toBe(
      `TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n${DOC.hashedCanonicalRequest}`,
    );
  });

  test('reproduces the documented signature and Authorization header', () => {
    expect(signed.signature).toBe(DOC.signature);
    expect(signed.authorization).toBe(
      `TC3-HMAC-SHA256 Credential=${DOC.secretId}/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=${DOC.signature}`,
    );
  });

  test('any change to the body, key or time changes the signature', () => {
    const base = {
      secretId: DOC.secretId,
      secretKey: DOC.secretKey,
      service: 'cvm',
      host: 'cvm.tencentcloudapi.com',
      payload: DOC.payload,
      timestamp: DOC.timestamp,
    };
    expect(signTc3({ ...base, payload: `${DOC.payload} ` }).signature).not.toBe(DOC.signature);
    expect(signTc3({ ...base, secretKey: `${DOC.secretKey}x` }).signature).not.toBe(DOC.signature);
    expect(signTc3({ ...base, timestamp: DOC.timestamp + 1 }).signature).not.toBe(DOC.signature);
  });
});

let root: string;
const ENV_ID = 'prod-8g2k3abc1234';
const SECRET_ID = 'AKIDabcdefghijklmnopqrstuvwxyz123456';
const SECRET_KEY = 'SecretKeyValue0123456789abcdefgh';

function write(rel: string, content: string): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-rules-test-'));
  write('cloudfunctions/alpha/index.js', 'exports.main = 1;');
  write('cloudfunctions/alpha/package.json', '{}');
  write(
    'database/ORDERS.json',
    JSON.stringify({ rules: { read: 'doc._openid == auth.openid', write: false } }),
  );
  write('database/LOG.json', JSON.stringify({ rules: { read: false, write: false } }));
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test('one ModifySafeRule body per collection, the rule as the JSON text of database/<NAME>.json', () => {
  expect(safeRuleRequests(ENV_ID, planDatabase(root))).toEqual([
    {
      EnvId: ENV_ID,
      CollectionName: 'LOG',
      AclTag: 'CUSTOM',
      Rule: '{"read":false,"write":false}',
    },
    {
      EnvId: ENV_ID,
      CollectionName: 'ORDERS',
      AclTag: 'CUSTOM',
      Rule: '{"read":"doc._openid == auth.openid","write":false}',
    },
  ]);
});

describe('Tencent Cloud keys', () => {
  test('absent: undefined (the console checklist applies); present: read, region defaulted', () => {
    expect(resolveTencentCredentials({})).toBeUndefined();
    expect(
      resolveTencentCredentials({
        TENCENTCLOUD_SECRETID: SECRET_ID,
        TENCENTCLOUD_SECRETKEY: SECRET_KEY,
      }),
    ).toEqual({ secretId: SECRET_ID, secretKey: SECRET_KEY, region: 'ap-shanghai' });
  });

  test('half set or malformed: a clear error that never echoes the SecretKey', () => {
    expect(() => resolveTencentCredentials({ TENCENTCLOUD_SECRETID: SECRET_ID })).toThrow(
      /TENCENTCLOUD_SECRETKEY is not set; get them from .*API密钥管理/,
    );
    let message = '';
    try {
      resolveTencentCredentials({
        TENCENTCLOUD_SECRETID: 'not-an-id',
        TENCENTCLOUD_SECRETKEY: 'has spaces and $ymbols',
        TENCENTCLOUD_REGION: 'Shanghai',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/TENCENTCLOUD_SECRETID "not-an-id" is not a SecretId/);
    expect(message).toMatch(/TENCENTCLOUD_SECRETKEY is not a SecretKey/);
    expect(message).toMatch(/TENCENTCLOUD_REGION "Shanghai" is not a region/);
    expect(message).not.toContain('$ymbols');
  });
});

type Sent = { url: string; headers: Record<string, string>; body: string };

/** Answers each call from `replies` in order (default: success), recording what was sent. */
function fakeFetch(replies: unknown[] = []): { fetch: Fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    fetch: async (url, init) => {
      sent.push({ url, headers: init.headers, body: init.body });
      const reply = replies[sent.length - 1] ?? { Response: { RequestId: `req-${sent.length}` } };
      return { status: 200, json: async () => reply };
    },
  };
}

const credentials: TencentCredentials = {
  secretId: SECRET_ID,
  secretKey: SECRET_KEY,
  region: 'ap-shanghai',
};

describe('applyRules', () => {
  test('signs each request with the exact body sent', async () => {
    const { fetch, sent } = fakeFetch();
    const log: string[] = [];
    const requests = safeRuleRequests(ENV_ID, planDatabase(root));
    await applyRules(
      { credentials, fetch, log: (l) => log.push(l), timeoutMs: 1000, now: () => DOC.timestamp },
      requests,
    );
    expect(sent).toHaveLength(2);
    expect(sent[0].url).toBe(`https://${TCB_HOST}/`);
    expect(JSON.parse(sent[1].body)).toEqual(requests[1]);
    const { Authorization, ...headers } = sent[1].headers;
    expect(headers).toEqual({
      'Content-Type': 'application/json; charset=utf-8',
      Host: 'tcb.tencentcloudapi.com',
      'X-TC-Action': 'ModifySafeRule',
      'X-TC-Version': '2018-06-08',
      'X-TC-Timestamp': String(DOC.timestamp),
      'X-TC-Region': 'ap-shanghai',
    });
    const expected = signTc3({
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
      service: 'tcb',
      host: TCB_HOST,
      payload: sent[1].body,
      timestamp: DOC.timestamp,
    });
    expect(Authorization).toBe(expected.authorization);
    expect(Authorization).toMatch(
      /^TC3-HMAC-SHA256 Credential=AKID\w+\/2019-02-25\/tcb\/tc3_request, /,
    );
    expect(Authorization).not.toContain(SECRET_KEY);
    expect(log).toEqual([
      '  + rules of LOG (RequestId req-1)',
      '  + rules of ORDERS (RequestId req-2)',
    ]);
  });

  test("a refusal stops at that collection, with Tencent Cloud's code and a hint", async () => {
    const { fetch, sent } = fakeFetch([
      undefined,
      {
        Response: { Error: { Code: 'ResourceNotFound', Message: 'env not exist' }, RequestId: 'x' },
      },
    ]);
    const run = applyRules(
      { credentials, fetch, log: () => undefined, timeoutMs: 1000 },
      safeRuleRequests(ENV_ID, planDatabase(root)),
    );
    await expect(run).rejects.toThrow(
      /ModifySafeRule ORDERS failed: ResourceNotFound, env not exist \(an env created from WeChat DevTools may not be reachable.*\); rules applied: LOG/,
    );
    expect(sent).toHaveLength(2);
  });

  test('a stalled call times out', async () => {
    jest.useFakeTimers();
    try {
      const stalled: Fetch = () => new Promise(() => undefined);
      const run = applyRules(
        { credentials, fetch: stalled, log: () => undefined, timeoutMs: 60_000 },
        safeRuleRequests(ENV_ID, planDatabase(root)),
      ).catch((err: unknown) => err);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(String(await run)).toMatch(/ModifySafeRule LOG did not finish within 60 s/);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('npm run deploy -- --rules', () => {
  let env: Record<string, string>;
  beforeEach(() => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    write('upload.key', privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    env = {
      WX_APPID: 'wx1234567890abcdef',
      WX_UPLOAD_KEY_PATH: path.join(root, 'upload.key'),
      CLOUDPAY_ENV_ID: ENV_ID,
    };
  });

  function uploader(): { uploader: CloudUploader; calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      uploader: {
        uploadFunction: async (o) => {
          calls.push(`upload ${o.name}`);
          return { filesCount: 2, packSize: 100 };
        },
        createTimeTrigger: async () => TRIGGER_CREATED,
      },
    };
  }

  function deploy(overrides: Partial<DeployOptions>): { options: DeployOptions; output: string[] } {
    return offlineDeploy({ root, env }, { rules: true, ...overrides });
  }

  test('--dry-run prints the exact request bodies, no signature or key, sends nothing', async () => {
    const { options, output } = deploy({
      dryRun: true,
      env: { ...env, TENCENTCLOUD_SECRETID: SECRET_ID, TENCENTCLOUD_SECRETKEY: SECRET_KEY },
    });
    expect(await runDeploy(options)).toBe(0);
    const text = output.join('\n');
    expect(text).toContain(
      `POST https://tcb.tencentcloudapi.com/ X-TC-Action: ModifySafeRule, X-TC-Version: 2018-06-08, X-TC-Region: ap-shanghai {"EnvId":"${ENV_ID}","CollectionName":"ORDERS","AclTag":"CUSTOM","Rule":"{\\"read\\":\\"doc._openid == auth.openid\\",\\"write\\":false}"}`,
    );
    expect(text).toContain(
      'Unconfirmed: whether Tencent Cloud keys may change an env created from WeChat DevTools',
    );
    expect(text).not.toContain(SECRET_KEY);
    expect(text).not.toContain('Signature=');
  });

  test('with keys: rules are set before the upload, and the console checklist for rules is dropped', async () => {
    const { fetch, sent } = fakeFetch();
    const up = uploader();
    const { options, output } = deploy({
      env: { ...env, TENCENTCLOUD_SECRETID: SECRET_ID, TENCENTCLOUD_SECRETKEY: SECRET_KEY },
      fetch,
      openUploader: () => ({ uploader: up.uploader, close: () => undefined }),
    });
    expect(await runDeploy(options)).toBe(0);
    expect(sent.map((s) => JSON.parse(s.body).CollectionName)).toEqual(['LOG', 'ORDERS']);
    expect(up.calls).toEqual(['upload alpha']);
    const text = output.join('\n');
    expect(text).toContain('+ rules of ORDERS');
    expect(text).not.toContain('自定义安全规则');
    expect(text).not.toContain(SECRET_KEY);
  });

  test('without keys: nothing is sent to Tencent Cloud, the console steps are printed', async () => {
    const up = uploader();
    const { options, output } = deploy({
      openUploader: () => ({ uploader: up.uploader, close: () => undefined }),
    });
    expect(await runDeploy(options)).toBe(0);
    expect(up.calls).toEqual(['upload alpha']);
    const text = output.join('\n');
    expect(text).toContain('--rules: TENCENTCLOUD_SECRETID/SECRETKEY are not set');
    expect(text).toContain(
      'ORDERS: 数据权限 → 自定义安全规则 → paste {"read":"doc._openid == auth.openid","write":false}',
    );
  });

  test('half-set keys stop the deploy before any network', async () => {
    const opened = jest.fn();
    const { options, output } = deploy({
      env: { ...env, TENCENTCLOUD_SECRETID: SECRET_ID },
      openUploader: opened,
    });
    expect(await runDeploy(options)).toBe(1);
    expect(opened).not.toHaveBeenCalled();
    expect(output.join('\n')).toMatch(/TENCENTCLOUD_SECRETKEY is not set/);
  });

  test('a refused rule fails the deploy before any upload', async () => {
    const { fetch } = fakeFetch([
      { Response: { Error: { Code: 'AuthFailure.SignatureFailure', Message: 'bad sig' } } },
    ]);
    const opened = jest.fn();
    const { options, output } = deploy({
      env: { ...env, TENCENTCLOUD_SECRETID: SECRET_ID, TENCENTCLOUD_SECRETKEY: SECRET_KEY },
      fetch,
      openUploader: opened,
    });
    expect(await runDeploy(options)).toBe(2);
    expect(opened).not.toHaveBeenCalled();
    expect(output.join('\n')).toMatch(
      /ModifySafeRule LOG failed: AuthFailure\.SignatureFailure, bad sig \(check TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY\); rules applied: none/,
    );
  });
});
