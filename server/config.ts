import { AppError, ErrorCodes } from './errors';

/** What a shop sells: prices live here, on the server, never in the client's request. */
export interface CatalogItem {
  id: string;
  title: string;
  /** The merchant body WeChat shows on the bill (≤128 bytes). */
  body: string;
  /** Price in fen (1 = ¥0.01), an integer as WeChat Pay requires. */
  totalFee: number;
}

export interface PayConfig {
  /** The FULL cloud env id (not its alias): WeChat Pay calls back into this env. */
  envId: string;
  /** The merchant bound to the cloud env (CloudPay's `subMchId`). */
  subMchId: string;
  /** How long an unpaid order stays payable; WeChat needs more than 5 minutes. */
  orderLifetimeMs: number;
  catalog: Record<string, CatalogItem>;
  /** Openids allowed to refund. */
  adminOpenids: string[];
  /** Function names WeChat Pay calls back. */
  payNotifyFunction: string;
  refundNotifyFunction: string;
}

/** The settings file `cloudpay.config.local.json` (git-ignored) and the env vars share these keys. */
export interface ConfigSource {
  envId?: unknown;
  subMchId?: unknown;
  orderLifetimeMinutes?: unknown;
  catalog?: unknown;
  adminOpenids?: unknown;
}

// Inlined by scripts/build.mjs (esbuild `define`); absent when the code runs unbundled (tests).
declare const __CLOUDPAY_LOCAL_CONFIG__: ConfigSource | undefined;
declare const __CLOUDPAY_PRODUCTION__: boolean | undefined;

/** The local emulator's documented defaults, so a fresh clone runs with no settings at all. */
export const LOCAL_DEFAULTS = { envId: 'local-env', subMchId: '1900000109' } as const;

export const DEFAULT_CATALOG: Record<string, CatalogItem> = {
  'demo-unlock': { id: 'demo-unlock', title: '解锁全文', body: '示例商户-解锁全文', totalFee: 1 },
  'demo-guide': { id: 'demo-guide', title: '下载清单', body: '示例商户-上线清单PDF', totalFee: 2 },
};

/**
 * The catalog item for a caller-sent id, or undefined. Own properties only: a plain object inherits
 * `constructor`, `toString`, `__proto__`... and `catalog["constructor"]` would be a function, taken
 * for an item (it wrote a junk failed order).
 */
export function catalogItem(
  catalog: Record<string, CatalogItem>,
  itemId: string,
): CatalogItem | undefined {
  // hasOwnProperty.call, not Object.hasOwn: cloud functions may run on Node 12.
  return Object.prototype.hasOwnProperty.call(catalog, itemId) ? catalog[itemId] : undefined;
}

const DEFAULT_ORDER_LIFETIME_MINUTES = 15;

function configError(message: string): AppError {
  return new AppError(ErrorCodes.CONFIG, `配置错误 (configuration): ${message}`);
}

function parseCatalog(raw: unknown, where: string): Record<string, CatalogItem> {
  const value = typeof raw === 'string' ? safeJson(raw, where) : raw;
  if (!Array.isArray(value) || value.length === 0) {
    throw configError(`${where} must be a non-empty JSON array of {id, title, body, totalFee}`);
  }
  const catalog: Record<string, CatalogItem> = {};
  for (const entry of value as Record<string, unknown>[]) {
    const { id, title, body, totalFee } = entry ?? {};
    if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(id)) {
      throw configError(`${where}: item id ${JSON.stringify(id)} must be 1-32 of a-z, 0-9, '-'`);
    }
    if (typeof title !== 'string' || !title)
      throw configError(`${where}: item ${id} needs a title`);
    if (typeof body !== 'string' || !body || Buffer.byteLength(body) > 128) {
      throw configError(`${where}: item ${id} needs a body of 1-128 bytes (shown on the bill)`);
    }
    if (typeof totalFee !== 'number' || !Number.isInteger(totalFee) || totalFee < 1) {
      throw configError(
        `${where}: item ${id} totalFee must be a positive integer in fen (1 = ¥0.01)`,
      );
    }
    catalog[id] = { id, title, body, totalFee };
  }
  return catalog;
}

function safeJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw configError(`${where} is not valid JSON`);
  }
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/**
 * Resolves the configuration: function environment variables (set in the cloud console) win over
 * the inlined local file, which wins over the local defaults. A production build
 * (`npm run build -- --production`) refuses to fall back to the emulator's merchant id.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  file: ConfigSource = typeof __CLOUDPAY_LOCAL_CONFIG__ === 'undefined'
    ? {}
    : __CLOUDPAY_LOCAL_CONFIG__,
  production: boolean = typeof __CLOUDPAY_PRODUCTION__ === 'undefined'
    ? false
    : __CLOUDPAY_PRODUCTION__,
): PayConfig {
  const subMchId = nonEmpty(env.CLOUDPAY_SUB_MCH_ID) ?? nonEmpty(file.subMchId);
  if (!subMchId && production) {
    throw configError(
      'no merchant id: set CLOUDPAY_SUB_MCH_ID in the function\'s environment variables (cloud console) or "subMchId" in cloudpay.config.local.json before building',
    );
  }
  if (subMchId && !/^\d{8,12}$/.test(subMchId)) {
    throw configError(`merchant id ${JSON.stringify(subMchId)} must be the 8-12 digit 商户号`);
  }
  // On the cloud TCB_ENV holds the function's own FULL env id, the one WeChat Pay must call back.
  const envId = nonEmpty(env.CLOUDPAY_ENV_ID) ?? nonEmpty(file.envId) ?? nonEmpty(env.TCB_ENV);
  if (!envId && production) {
    throw configError(
      'no env id: set CLOUDPAY_ENV_ID or "envId" to the FULL env id (not its alias)',
    );
  }
  const lifetimeRaw = env.CLOUDPAY_ORDER_LIFETIME_MINUTES ?? file.orderLifetimeMinutes;
  const lifetime = lifetimeRaw === undefined ? DEFAULT_ORDER_LIFETIME_MINUTES : Number(lifetimeRaw);
  // WeChat refuses a time_expire less than 5 minutes after time_start; a day is plenty for an unlock.
  if (!Number.isFinite(lifetime) || lifetime <= 5 || lifetime > 24 * 60) {
    throw configError(
      `order lifetime ${String(lifetimeRaw)} must be more than 5 and at most 1440 minutes`,
    );
  }
  const catalogRaw = env.CLOUDPAY_CATALOG ?? file.catalog;
  const adminRaw = env.CLOUDPAY_ADMIN_OPENIDS ?? file.adminOpenids;
  const adminOpenids = Array.isArray(adminRaw)
    ? adminRaw.filter((v): v is string => typeof v === 'string' && v.length > 0)
    : typeof adminRaw === 'string'
      ? adminRaw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
  return {
    envId: envId ?? LOCAL_DEFAULTS.envId,
    subMchId: subMchId ?? LOCAL_DEFAULTS.subMchId,
    orderLifetimeMs: lifetime * 60 * 1000,
    catalog: catalogRaw === undefined ? DEFAULT_CATALOG : parseCatalog(catalogRaw, 'catalog'),
    adminOpenids,
    payNotifyFunction: 'userpaynotify',
    refundNotifyFunction: 'payrefundnotify',
  };
}
