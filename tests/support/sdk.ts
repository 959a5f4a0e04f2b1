import { Worker } from 'node:worker_threads';
import path from 'node:path';

/**
 * The environment the cloud platform injects into a function instance, pointed at an emulator.
 * The real, unmodified wx-server-sdk reads nothing else (platform-facts §1).
 */
export function platformEnv(
  url: string,
  who: { openid?: string; source?: string; appid?: string; envId?: string } = {},
): Record<string, string> {
  const envId = who.envId ?? 'local-env';
  return {
    PATH: process.env.PATH ?? '',
    TCB_CONTEXT_CNFG: JSON.stringify({ URL: `${url}/admin` }),
    TENCENTCLOUD_RUNENV: 'SCF',
    TENCENTCLOUD_SECRETID: 'local-dummy-id',
    TENCENTCLOUD_SECRETKEY: 'local-dummy-key',
    TENCENTCLOUD_SESSIONTOKEN: 'local-dummy-token',
    TENCENTCLOUD_REGION: 'ap-shanghai',
    TCB_ENV: envId,
    SCF_NAMESPACE: envId,
    WX_CONTEXT_KEYS: 'WX_OPENID,WX_APPID,WX_UNIONID,WX_CLIENTIP',
    WX_OPENID: who.openid ?? 'o_test_user_0001',
    WX_APPID: who.appid ?? 'wx0000000000000000',
    WX_UNIONID: '',
    WX_CLIENTIP: '127.0.0.1',
    TCB_CONTEXT_KEYS: 'TCB_SOURCE,TCB_CONTEXT_CNFG',
    TCB_SOURCE: who.source ?? 'wx_client',
    SILENCE: 'true',
  };
}

export interface SdkScriptError {
  message: string;
  errCode?: number;
  errMsg?: string;
  code?: string;
}

/**
 * Runs `body` (the inside of an async function with `cloud`, `db` and `_` in scope) with the real
 * wx-server-sdk in a worker thread whose process.env is only the platform's variables. Resolves
 * to what the body returned (JSON round-tripped), or rejects with the SDK's error fields.
 */
export function runWithSdk<T = unknown>(
  url: string,
  body: string,
  who?: Parameters<typeof platformEnv>[1],
): Promise<T> {
  const sdkPath = require.resolve('wx-server-sdk', { paths: [path.resolve(__dirname, '../..')] });
  const code = `
    const { parentPort } = require('node:worker_threads');
    const cloud = require(${JSON.stringify(sdkPath)});
    cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV });
    const db = cloud.database();
    const _ = db.command;
    (async () => { ${body} })().then(
      (value) => parentPort.postMessage({ ok: true, value: JSON.parse(JSON.stringify(value === undefined ? null : value)) }),
      (err) => parentPort.postMessage({ ok: false, error: { message: String(err && err.message), errCode: err && err.errCode, errMsg: err && err.errMsg, code: err && err.code } }),
    );
  `;
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(code, { eval: true, env: platformEnv(url, who) });
    let settled = false;
    worker.once('message', (msg: { ok: boolean; value?: T; error?: SdkScriptError }) => {
      settled = true;
      void worker.terminate();
      if (msg.ok) resolve(msg.value as T);
      else reject(Object.assign(new Error(msg.error?.message ?? 'SDK script failed'), msg.error));
    });
    worker.once('error', (err) => {
      if (!settled) reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`SDK worker exited with code ${code} before answering`));
    });
  });
}
