// Collections and indexes through WeChat's server API (appid + AppSecret). Security rules have no
// WeChat API: they are printed as console steps instead (see report.ts).
//
// The access token comes from /cgi-bin/stable_token, not /cgi-bin/token: the latter issues a new
// token and expires the one the merchant's other servers may be using; the stable one does not.
import { databaseRequests, type ApiRequest, type CollectionPlan } from './plan';
import { withTimeout } from './timeout';

export const WECHAT_API = 'https://api.weixin.qq.com';

/** The slice of `fetch` used here, so tests pass a recording fake. */
export type Fetch = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number; json(): Promise<unknown> }>;

export interface ApiOptions {
  appid: string;
  appSecret: string;
  envId: string;
  fetch: Fetch;
  log: (line: string) => void;
  timeoutMs: number;
}

export interface WechatReply {
  errcode?: number;
  errmsg?: string;
  access_token?: string;
  collections?: { name: string }[];
  [key: string]: unknown;
}

/** A stable access token for the appid (see the module comment). */
export async function accessToken(options: ApiOptions): Promise<string> {
  const tokenReply = await post(options, '/cgi-bin/stable_token', {
    grant_type: 'client_credential',
    appid: options.appid,
    secret: options.appSecret,
  });
  if (!ok(tokenReply) || typeof tokenReply.access_token !== 'string') {
    throw new WechatApiError(
      '/cgi-bin/stable_token',
      tokenReply.errcode,
      tokenReply.errmsg ?? 'no access_token',
    );
  }
  return tokenReply.access_token;
}

/** A failed call. The message names the API path and WeChat's code, never the token or secret. */
export class WechatApiError extends Error {
  constructor(
    readonly apiPath: string,
    readonly errcode: number | undefined,
    errmsg: string,
  ) {
    super(
      `${apiPath} failed: ${errcode === undefined ? '' : `errcode ${errcode}, `}${errmsg}${hint(errcode)}`,
    );
    this.name = 'WechatApiError';
  }
}

function hint(errcode: number | undefined): string {
  if (errcode === 40164 || errcode === 61004) {
    return " (this machine's IP is not in the IP 白名单: 微信公众平台 → 开发管理 → 开发设置)";
  }
  if (errcode === 40125 || errcode === 40013) return ' (check WX_APPSECRET and WX_APPID)';
  if (errcode === 85088) return ' (cloud development is not enabled for this appid)';
  return '';
}

export async function post(
  options: ApiOptions,
  apiPath: string,
  body: Record<string, unknown>,
  token?: string,
): Promise<WechatReply> {
  // The token rides in the query string as the API requires; this URL is never logged.
  const url = `${WECHAT_API}${apiPath}${token ? `?access_token=${encodeURIComponent(token)}` : ''}`;
  const reply = await withTimeout(`POST ${apiPath}`, options.timeoutMs, async (signal) => {
    const res = await options.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    if (res.status !== 200) throw new WechatApiError(apiPath, undefined, `HTTP ${res.status}`);
    return (await res.json()) as WechatReply;
  });
  if (typeof reply !== 'object' || reply === null) {
    throw new WechatApiError(apiPath, undefined, 'reply is not a JSON object');
  }
  return reply;
}

export function ok(reply: WechatReply): boolean {
  return reply.errcode === undefined || reply.errcode === 0;
}

/**
 * Creates the missing collections, then each index. Idempotent: collections that exist are
 * skipped (listed first), and an index the cloud reports as existing is counted as present.
 * Not verified against the live API: the exact errcode for "index exists" is unknown, so the
 * message is matched loosely.
 */
export async function applyDatabase(
  options: ApiOptions,
  collections: CollectionPlan[],
): Promise<{ created: string[]; present: string[] }> {
  const token = await accessToken(options);

  const listed = await post(
    options,
    '/tcb/databasecollectionget',
    { env: options.envId, limit: 1000, offset: 0 },
    token,
  );
  if (!ok(listed)) {
    throw new WechatApiError('/tcb/databasecollectionget', listed.errcode, listed.errmsg ?? '');
  }
  const existing = new Set((listed.collections ?? []).map((c) => c.name));

  const created: string[] = [];
  const present: string[] = [];
  for (const request of databaseRequests(options.envId, collections)) {
    const what = describe(request);
    if (
      request.path === '/tcb/databasecollectionadd' &&
      existing.has(String(request.body.collection_name))
    ) {
      present.push(what);
      options.log(`  = ${what} (already there)`);
      continue;
    }
    const reply = await post(options, request.path, request.body, token);
    if (ok(reply)) {
      created.push(what);
      options.log(`  + ${what}`);
    } else if (/exist/i.test(reply.errmsg ?? '')) {
      present.push(what);
      options.log(`  = ${what} (already there: ${reply.errmsg})`);
    } else {
      throw new WechatApiError(request.path, reply.errcode, `${reply.errmsg ?? ''} (${what})`);
    }
  }
  return { created, present };
}

export function describe(request: ApiRequest): string {
  const collection = String(request.body.collection_name);
  if (request.path === '/tcb/databasecollectionadd') return `collection ${collection}`;
  const [index] = request.body.create_indexes as { name: string; unique: boolean }[];
  return `index ${collection}.${index.name}${index.unique ? ' (unique)' : ''}`;
}
