// Security rules through Tencent Cloud's API (`npm run deploy -- --rules`): WeChat has no server
// API for them. One `ModifySafeRule` call per collection (tcb, version 2018-06-08) with the rule of
// database/<NAME>.json, signed here with TC3-HMAC-SHA256 (node:crypto) rather than through
// @cloudbase/manager-node, whose dependency tree is far heavier than these sixty lines.
//
// The signer reproduces the worked example of Tencent Cloud's "签名方法 v3" documentation byte
// for byte (tests/unit/deploy-rules.test.ts). NOT verified live: whether a Tencent Cloud
// SecretId/SecretKey may modify an env created from WeChat DevTools (such envs belong to the
// mini-program, and may not be visible to the Tencent Cloud account at all), and whether the
// `Rule` string takes exactly the JSON the console's 自定义安全规则 box takes.
import crypto from 'node:crypto';
import type { CollectionPlan } from './plan';
import { withTimeout } from './timeout';
import type { Fetch } from './wechat-api';

export const TCB_HOST = 'tcb.tencentcloudapi.com';
export const TCB_SERVICE = 'tcb';
export const TCB_VERSION = '2018-06-08';
/** @cloudbase/manager-node's default region; most WeChat cloud envs live in Shanghai. */
export const DEFAULT_REGION = 'ap-shanghai';
const CONTENT_TYPE = 'application/json; charset=utf-8';

export const CREDENTIALS = {
  secretId: { env: 'TENCENTCLOUD_SECRETID' },
  secretKey: { env: 'TENCENTCLOUD_SECRETKEY' },
  region: { env: 'TENCENTCLOUD_REGION' },
  where: '腾讯云控制台 (console.cloud.tencent.com) → 访问管理 → 访问密钥 → API密钥管理 → 新建密钥',
} as const;

export interface TencentCredentials {
  secretId: string;
  /** Never printed, not even when malformed. */
  secretKey: string;
  region: string;
}

/** The body of one ModifySafeRule call: `Rule` is the JSON text of the collection's rules. */
export interface SafeRuleRequest {
  EnvId: string;
  CollectionName: string;
  AclTag: 'CUSTOM';
  Rule: string;
}

export function safeRuleRequests(envId: string, collections: CollectionPlan[]): SafeRuleRequest[] {
  return collections.map((c) => ({
    EnvId: envId,
    CollectionName: c.collection,
    AclTag: 'CUSTOM',
    Rule: JSON.stringify(c.rules),
  }));
}

/**
 * Reads the keys. Returns undefined when neither is set (the caller prints the console checklist
 * instead); throws an Error naming the problem when they are half set or malformed.
 */
export function resolveTencentCredentials(
  env: Record<string, string | undefined>,
): TencentCredentials | undefined {
  const secretId = env[CREDENTIALS.secretId.env]?.trim() ?? '';
  const secretKey = env[CREDENTIALS.secretKey.env]?.trim() ?? '';
  if (!secretId && !secretKey) return undefined;
  const problems: string[] = [];
  if (!secretId) problems.push(`${CREDENTIALS.secretId.env} is not set`);
  // A SecretId starts with AKID; the check catches a key pasted into the wrong variable.
  else if (!/^AKID[0-9A-Za-z]{8,}$/.test(secretId)) {
    problems.push(`${CREDENTIALS.secretId.env} "${secretId}" is not a SecretId (AKID...)`);
  }
  if (!secretKey) problems.push(`${CREDENTIALS.secretKey.env} is not set`);
  else if (!/^[0-9A-Za-z]{16,}$/.test(secretKey)) {
    problems.push(`${CREDENTIALS.secretKey.env} is not a SecretKey (letters and digits only)`);
  }
  const region = env[CREDENTIALS.region.env]?.trim() || DEFAULT_REGION;
  if (!/^[a-z]{2,}-[a-z]+(-[a-z0-9]+)*$/.test(region)) {
    problems.push(`${CREDENTIALS.region.env} "${region}" is not a region such as ap-shanghai`);
  }
  if (problems.length > 0) {
    throw new Error(
      `Tencent Cloud keys for --rules: ${problems.join('; ')}; get them from ${CREDENTIALS.where}`,
    );
  }
  return { secretId, secretKey, region };
}

export interface Tc3Input {
  secretId: string;
  secretKey: string;
  service: string;
  host: string;
  /** The exact body bytes sent. */
  payload: string;
  /** Unix seconds: also the X-TC-Timestamp header, and its UTC date is the credential date. */
  timestamp: number;
}

export interface Tc3Signature {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  authorization: string;
}

const sha256Hex = (data: string): string =>
  crypto.createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: crypto.BinaryLike, data: string): Buffer =>
  crypto.createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * TC3-HMAC-SHA256 for a JSON POST to "/", signing the two required headers (content-type and
 * host), exactly the documented example's shape.
 */
export function signTc3(input: Tc3Input): Tc3Signature {
  const signedHeaders = 'content-type;host';
  const canonicalRequest = [
    'POST',
    '/',
    '',
    `content-type:${CONTENT_TYPE}\nhost:${input.host}\n`,
    signedHeaders,
    sha256Hex(input.payload),
  ].join('\n');
  // The date is UTC: a local (UTC+8) date breaks every call made between 00:00 and 08:00.
  const date = new Date(input.timestamp * 1000).toISOString().slice(0, 10);
  const scope = `${date}/${input.service}/tc3_request`;
  const stringToSign = [
    'TC3-HMAC-SHA256',
    String(input.timestamp),
    scope,
    sha256Hex(canonicalRequest),
  ].join('\n');
  const secretDate = hmac(`TC3${input.secretKey}`, date);
  const secretService = hmac(secretDate, input.service);
  const secretSigning = hmac(secretService, 'tc3_request');
  const signature = crypto
    .createHmac('sha256', secretSigning)
    .update(stringToSign, 'utf8')
    .digest('hex');
  return {
    canonicalRequest,
    stringToSign,
    signature,
    authorization: `TC3-HMAC-SHA256 Credential=${input.secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** Headers for one call, Authorization excluded (the dry run prints these). */
export function requestHeaders(
  action: string,
  region: string,
  timestamp: number,
): Record<string, string> {
  return {
    'Content-Type': CONTENT_TYPE,
    Host: TCB_HOST,
    'X-TC-Action': action,
    'X-TC-Version': TCB_VERSION,
    'X-TC-Timestamp': String(timestamp),
    'X-TC-Region': region,
  };
}

/** The dry run: each request exactly as it would be sent, minus the Authorization header. */
export function formatRulesRequests(requests: SafeRuleRequest[], region: string): string[] {
  const lines = [
    `Security rules (--rules: Tencent Cloud API, TENCENTCLOUD_SECRETID/SECRETKEY, signature not shown):`,
  ];
  for (const body of requests) {
    lines.push(
      `  POST https://${TCB_HOST}/ X-TC-Action: ModifySafeRule, X-TC-Version: ${TCB_VERSION}, X-TC-Region: ${region} ${JSON.stringify(body)}`,
    );
  }
  lines.push(
    '  Unconfirmed: whether Tencent Cloud keys may change an env created from WeChat DevTools; if the call is refused, use the console steps.',
  );
  return lines;
}

interface TencentReply {
  Response?: { RequestId?: string; Error?: { Code?: string; Message?: string } };
}

function hint(code: string): string {
  if (/^AuthFailure\.(SignatureFailure|SecretIdNotFound|InvalidSecretId)/.test(code)) {
    return ' (check TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY)';
  }
  if (code === 'AuthFailure.SignatureExpire')
    return " (this machine's clock is off by more than 5 minutes)";
  if (/^(UnauthorizedOperation|AuthFailure\.UnauthorizedOperation)/.test(code)) {
    return ' (the key lacks permission on tcb: grant QcloudTCBFullAccess in 访问管理, or use the console steps)';
  }
  if (/^ResourceNotFound|^InvalidParameter/.test(code)) {
    return ' (an env created from WeChat DevTools may not be reachable with Tencent Cloud keys; check the env id and TENCENTCLOUD_REGION, or use the console steps)';
  }
  return '';
}

export interface RulesOptions {
  credentials: TencentCredentials;
  fetch: Fetch;
  log: (line: string) => void;
  timeoutMs: number;
  /** Unix seconds; injectable for tests. */
  now?: () => number;
}

/** Sends one ModifySafeRule per collection; stops at the first refusal, naming what was applied. */
export async function applyRules(
  options: RulesOptions,
  requests: SafeRuleRequest[],
): Promise<void> {
  const now = options.now ?? ((): number => Math.floor(Date.now() / 1000));
  const done: string[] = [];
  for (const body of requests) {
    const payload = JSON.stringify(body);
    const timestamp = now();
    const { authorization } = signTc3({
      secretId: options.credentials.secretId,
      secretKey: options.credentials.secretKey,
      service: TCB_SERVICE,
      host: TCB_HOST,
      payload,
      timestamp,
    });
    const step = `ModifySafeRule ${body.CollectionName}`;
    const reply = await withTimeout(step, options.timeoutMs, async (signal) => {
      const res = await options.fetch(`https://${TCB_HOST}/`, {
        method: 'POST',
        headers: {
          ...requestHeaders('ModifySafeRule', options.credentials.region, timestamp),
          Authorization: authorization,
        },
        body: payload,
        signal,
      });
      if (res.status !== 200) throw new Error(`${step} failed: HTTP ${res.status}`);
      return (await res.json()) as TencentReply;
    });
    const error = reply?.Response?.Error;
    if (!reply?.Response || error) {
      const code = error?.Code ?? 'no Response';
      throw new Error(
        `${step} failed: ${code}${error?.Message ? `, ${error.Message}` : ''}${hint(code)}; ` +
          `rules applied: ${done.join(', ') || 'none'}`,
      );
    }
    done.push(body.CollectionName);
    options.log(
      `  + rules of ${body.CollectionName} (RequestId ${reply.Response.RequestId ?? '?'})`,
    );
  }
}
