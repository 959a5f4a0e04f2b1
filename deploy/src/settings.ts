// Deploy settings: which mini-program (appid), which upload key, which cloud environment, and, for
// the optional database step, the AppSecret. Read from environment variables first, then from the
// git-ignored deploy/deploy.config.json, and checked here, before anything touches the network,
// because miniprogram-ci itself only finds a bad key or a wrong env id after a round trip (and
// sometimes after creating a function with the wrong defaults).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Where each setting comes from, in the words the error messages use. */
export const SETTINGS = {
  appid: {
    env: 'WX_APPID',
    key: 'appid',
    where: '微信公众平台 (mp.weixin.qq.com) → 开发管理 → 开发设置 → 开发者ID → AppID(小程序ID)',
  },
  privateKeyPath: {
    env: 'WX_UPLOAD_KEY_PATH',
    key: 'privateKeyPath',
    where:
      '微信公众平台 → 开发管理 → 开发设置 → 小程序代码上传 → 上传密钥 (生成 downloads private.<appid>.key); ' +
      "in the same place, add this machine's public IP to the IP 白名单 (IP allow-list) or turn the allow-list off",
  },
  envId: {
    env: 'CLOUDPAY_ENV_ID',
    key: 'envId',
    where:
      '云开发控制台 → 设置 → 环境设置 → 环境 ID (the FULL id, e.g. prod-8g2k3abc1234, not the alias "prod")',
  },
  appSecret: {
    env: 'WX_APPSECRET',
    key: 'appSecret',
    where:
      '微信公众平台 → 开发管理 → 开发设置 → 开发者ID → AppSecret(小程序密钥) 生成/重置; calls from this machine ' +
      'also need its IP in the IP 白名单 under the same page',
  },
} as const;

export type SettingName = keyof typeof SETTINGS;

export interface DeploySettings {
  appid: string;
  /** Absolute path of the upload key. Only the path is ever printed, never the contents. */
  privateKeyPath: string;
  envId: string;
  /** Only present (and only required) for `--database`. Never printed. */
  appSecret?: string;
}

/** Every problem found, each naming the setting and where to get it, so one run shows them all. */
export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`deploy settings are missing or wrong:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

export const CONFIG_FILE = path.join('deploy', 'deploy.config.json');
/** The appid that ships in project.config.json: a placeholder, never a real mini-program. */
export const PLACEHOLDER_APPID = 'wx0000000000000000';

export interface ResolveOptions {
  /** The project root (relative key paths resolve against it). */
  root: string;
  env: Record<string, string | undefined>;
  /** `--database` needs the AppSecret; uploading functions does not. */
  requireAppSecret: boolean;
}

function label(name: SettingName): string {
  const s = SETTINGS[name];
  return `${s.env} (or "${s.key}" in ${CONFIG_FILE})`;
}

function missing(name: SettingName): string {
  return `${label(name)} is not set: get it from ${SETTINGS[name].where}`;
}

/** Reads deploy/deploy.config.json if present; a malformed file is a problem, not a silent {}. */
function readConfigFile(root: string, problems: string[]): Record<string, string> {
  const file = path.join(root, CONFIG_FILE);
  if (!fs.existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`${CONFIG_FILE} is not valid JSON (${(err as Error).message})`);
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`${CONFIG_FILE} must hold a JSON object`);
    return {};
  }
  const known = Object.values(SETTINGS).map((s) => s.key as string);
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    // A typo ("envid") would otherwise fall back silently to another setting or to nothing.
    if (!known.includes(key)) {
      problems.push(`${CONFIG_FILE}: unknown key "${key}" (known keys: ${known.join(', ')})`);
    } else if (typeof value !== 'string') {
      problems.push(`${CONFIG_FILE}: "${key}" must be a string`);
    } else if (value.trim()) {
      values[key] = value.trim();
    }
  }
  return values;
}

/** The appid in project.config.json, unless it is still the shipped placeholder. */
function projectAppid(root: string): string | undefined {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'project.config.json'), 'utf8'));
    const appid = typeof config.appid === 'string' ? config.appid.trim() : '';
    return appid && appid !== PLACEHOLDER_APPID ? appid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A full env id is the alias the user typed plus a generated suffix ("prod-8g2k3abc1234"); the
 * alias alone ("prod", "my-env") has no such suffix. Heuristic, kept loose on purpose: the last
 * hyphen-separated part must be at least 4 lowercase letters or digits and contain a digit. WeChat
 * Pay calls back into the env named in unifiedOrder, and with an alias the callback never arrives.
 */
export function looksLikeFullEnvId(envId: string): boolean {
  if (!/^[a-z0-9][a-z0-9-]{1,62}$/i.test(envId)) return false;
  const parts = envId.split('-');
  if (parts.length < 2) return false;
  const suffix = parts[parts.length - 1];
  return /^[a-z0-9]{4,}$/.test(suffix) && /\d/.test(suffix);
}

/** Parses the upload key locally (miniprogram-ci would only find out online). */
export function checkPrivateKey(file: string, appid: string | undefined): string | undefined {
  const name = label('privateKeyPath');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return `${name}: no file at ${file}; get the key from ${SETTINGS.privateKeyPath.where}`;
  }
  if (!stat.isFile()) return `${name}: ${file} is not a file`;
  try {
    const key = crypto.createPrivateKey(fs.readFileSync(file));
    if (key.asymmetricKeyType !== 'rsa') {
      return `${name}: ${file} holds a ${key.asymmetricKeyType} key; the 小程序代码上传密钥 is an RSA key`;
    }
  } catch {
    // The parser's message is not repeated: it is no help and the file could be a secret anyway.
    return `${name}: ${file} is not a PEM private key; download the 小程序代码上传密钥 again from ${SETTINGS.privateKeyPath.where}`;
  }
  // DevTools names the download private.<appid>.key: a key for another mini-program never works.
  const named = /private\.(wx[0-9a-f]{16})\.key$/i.exec(path.basename(file));
  if (named && appid && named[1].toLowerCase() !== appid.toLowerCase()) {
    return `${name}: ${path.basename(file)} is the upload key of ${named[1]}, not of ${appid}`;
  }
  return undefined;
}

/**
 * Resolves and checks every setting. Throws a SettingsError listing every problem; returns only
 * settings that are well-formed. Environment variables win over the file, which wins over
 * project.config.json (appid only).
 */
export function resolveSettings(options: ResolveOptions): DeploySettings {
  const problems: string[] = [];
  const file = readConfigFile(options.root, problems);
  const pick = (name: SettingName): string | undefined => {
    const value = options.env[SETTINGS[name].env]?.trim();
    return value || file[SETTINGS[name].key];
  };

  const appid = pick('appid') ?? projectAppid(options.root);
  const appidValid = appid !== undefined && /^wx[0-9a-f]{16}$/.test(appid);
  if (!appid) problems.push(missing('appid'));
  else if (!appidValid) {
    problems.push(
      `${label('appid')}: "${appid}" is not a mini-program AppID (wx followed by 16 lowercase hex digits); see ${SETTINGS.appid.where}`,
    );
  }

  const keyPath = pick('privateKeyPath');
  let privateKeyPath = '';
  if (!keyPath) problems.push(missing('privateKeyPath'));
  else {
    privateKeyPath = path.resolve(options.root, keyPath);
    // The key-to-appid cross-check only means something once the appid itself is valid.
    const problem = checkPrivateKey(privateKeyPath, appidValid ? appid : undefined);
    if (problem) problems.push(problem);
  }

  const envId = pick('envId');
  if (!envId) problems.push(missing('envId'));
  else if (!looksLikeFullEnvId(envId)) {
    problems.push(
      `${label('envId')}: "${envId}" looks like an env alias, not the full env id; use ${SETTINGS.envId.where}`,
    );
  }

  const appSecret = pick('appSecret');
  if (options.requireAppSecret) {
    if (!appSecret) problems.push(`${missing('appSecret')} (needed by --database only)`);
    // The secret itself is never echoed, even when it is malformed.
    else if (!/^[0-9a-f]{32}$/.test(appSecret)) {
      problems.push(
        `${label('appSecret')} is not an AppSecret (32 lowercase hex digits); see ${SETTINGS.appSecret.where}`,
      );
    }
  }

  if (problems.length > 0) throw new SettingsError(problems);
  return {
    appid: appid as string,
    privateKeyPath,
    envId: envId as string,
    ...(options.requireAppSecret ? { appSecret } : {}),
  };
}
