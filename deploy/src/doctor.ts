// Pre-flight checks (`npm run doctor`, and the first thing `npm run deploy` does after its build):
// what goes wrong silently on the real cloud, found from the files and settings alone, with no
// network. One line per check: ✓ passed, ✗ failed (exit 1), ! something only a person can do.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, LOCAL_DEFAULTS } from '../../server/config';
import { COLLECTIONS } from '../../server/records';
import { planDatabase, planFunctions, PlanError, type FunctionPlan } from './plan';
import { formatConsoleSteps } from './report';
import { CONFIG_FILE, looksLikeFullEnvId, SETTINGS } from './settings';

export type Mark = '✓' | '✗' | '!';

export interface Check {
  mark: Mark;
  name: string;
  detail: string;
  /** Further lines, printed indented under the check. */
  more?: string[];
}

/** What the code itself names: the callback functions and the collections it uses. */
export interface AppFacts {
  callbacks: string[];
  collections: string[];
}

/**
 * Read from the code rather than repeated here, so renaming a callback or a collection in
 * server/ is enough for the doctor to follow. loadConfig is called with empty settings: the
 * callback names are fixed defaults, not settings.
 */
export function appFacts(): AppFacts {
  const config = loadConfig({}, {}, false);
  return {
    callbacks: [config.payNotifyFunction, config.refundNotifyFunction],
    collections: Object.values(COLLECTIONS),
  };
}

export interface DoctorOptions {
  root: string;
  env: Record<string, string | undefined>;
  /** Defaults to appFacts(); tests pass their own for temporary projects. */
  facts?: AppFacts;
  /** Where the bundles to check are (the deploy's production build); default cloudfunctions/. */
  bundlesDir?: string;
}

const LOCAL_CONFIG = 'cloudpay.config.local.json';
const MERCHANT_WHERE =
  '微信支付商户平台 (pay.weixin.qq.com) → 账户中心 → 商户信息 → 商户号; bind it in 云开发控制台 → 设置 → 其他设置 → 微信支付配置';

/** A JSON object file, or undefined when absent; a malformed file is reported, not ignored. */
function readJsonObject(
  root: string,
  rel: string,
): { value?: Record<string, unknown>; error?: string } {
  const file = path.join(root, rel);
  if (!fs.existsSync(file)) return {};
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { error: `${rel} must hold a JSON object` };
    }
    return { value: value as Record<string, unknown> };
  } catch (err) {
    return { error: `${rel} is not valid JSON (${(err as Error).message})` };
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/**
 * The env id the deploy targets (CLOUDPAY_ENV_ID or deploy/deploy.config.json), and the one the
 * build inlines from cloudpay.config.local.json: the inlined one wins over the env a function runs
 * in (server/config.ts), so an alias there sends every payment callback nowhere.
 */
export function checkEnvId(root: string, env: DoctorOptions['env']): Check {
  const name = 'env id';
  const deployFile = readJsonObject(root, CONFIG_FILE);
  const localFile = readJsonObject(root, LOCAL_CONFIG);
  const error = deployFile.error ?? localFile.error;
  if (error) return { mark: '✗', name, detail: error };
  const target = text(env.CLOUDPAY_ENV_ID) ?? text(deployFile.value?.envId);
  const inlined = text(localFile.value?.envId);
  if (!target) {
    return {
      mark: '✗',
      name,
      detail: `CLOUDPAY_ENV_ID (or "envId" in ${CONFIG_FILE}) is not set: get it from ${SETTINGS.envId.where}`,
    };
  }
  if (!looksLikeFullEnvId(target)) {
    return {
      mark: '✗',
      name,
      detail: `"${target}" looks like an env alias, not the full env id: WeChat Pay would call back into nothing; use ${SETTINGS.envId.where}`,
    };
  }
  if (inlined && !looksLikeFullEnvId(inlined)) {
    return {
      mark: '✗',
      name,
      detail: `"envId" in ${LOCAL_CONFIG} is "${inlined}", an alias: the build inlines it into every function, where it wins over the env the function runs in`,
    };
  }
  if (inlined && inlined !== target) {
    return {
      mark: '✗',
      name,
      detail: `the functions would go to ${target} but ${LOCAL_CONFIG} tells them they run in ${inlined}: payment callbacks would go to ${inlined}`,
    };
  }
  return { mark: '✓', name, detail: `${target} looks like a full env id` };
}

/**
 * The merchant id: the local file's is inlined into the bundles; one only in this shell's
 * environment is not, so the console must carry it. The emulator's sandbox merchant is refused.
 */
export function checkMerchant(root: string, env: DoctorOptions['env']): Check {
  const name = 'merchant id';
  const local = readJsonObject(root, LOCAL_CONFIG);
  if (local.error) return { mark: '✗', name, detail: local.error };
  const fromFile = text(local.value?.subMchId);
  const fromEnv = text(env.CLOUDPAY_SUB_MCH_ID);
  const value = fromEnv ?? fromFile;
  const where = fromEnv ? 'CLOUDPAY_SUB_MCH_ID' : `"subMchId" in ${LOCAL_CONFIG}`;
  if (!value) {
    return {
      mark: '✗',
      name,
      detail: `neither CLOUDPAY_SUB_MCH_ID nor "subMchId" in ${LOCAL_CONFIG} is set: get the 商户号 from ${MERCHANT_WHERE}`,
    };
  }
  // The same rule server/config.ts applies at run time, where it would only fail on the cloud.
  if (!/^\d{8,12}$/.test(value)) {
    return { mark: '✗', name, detail: `${where} "${value}" is not an 8-12 digit 商户号` };
  }
  if (value === LOCAL_DEFAULTS.subMchId) {
    return {
      mark: '✗',
      name,
      detail: `${where} is ${value}, the local emulator's sandbox merchant: use your own 商户号 (${MERCHANT_WHERE})`,
    };
  }
  if (fromFile === value) {
    return {
      mark: '✓',
      name,
      detail: `${value} from ${LOCAL_CONFIG}, inlined into the bundles (a CLOUDPAY_SUB_MCH_ID function environment variable in the console would override it)`,
    };
  }
  return {
    mark: '!',
    name,
    detail: `${value} is set in this shell only: the bundles do not carry it, so set CLOUDPAY_SUB_MCH_ID=${value} as an environment variable of every function in the console (or put "subMchId" in ${LOCAL_CONFIG} and rebuild)`,
  };
}

/** config.json of every function, through the deploy's own planner (the 7-field cron rule). */
export function checkFunctionConfigs(root: string): { check: Check; plans?: FunctionPlan[] } {
  const name = 'function config.json';
  try {
    const plans = planFunctions(root);
    const triggers = plans.flatMap((p) => p.triggers.map((t) => `${p.name} "${t.config}"`));
    return {
      plans,
      check: {
        mark: '✓',
        name,
        detail: `${plans.length} functions (${plans.map((p) => p.name).join(', ')}); timer triggers: ${triggers.join(', ') || 'none'}`,
      },
    };
  } catch (err) {
    if (!(err instanceof PlanError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { check: { mark: '✗', name, detail: (err as Error).message } };
  }
}

function isFunctionDir(root: string, fn: string): boolean {
  return fs.existsSync(path.join(root, 'cloudfunctions', fn, 'package.json'));
}

/** WeChat Pay calls these by name; without the folder nothing is uploaded and no callback lands. */
export function checkCallbacks(root: string, facts: AppFacts): Check[] {
  return facts.callbacks.map((fn): Check => {
    const name = `callback ${fn}`;
    return isFunctionDir(root, fn)
      ? { mark: '✓', name, detail: `cloudfunctions/${fn}/ exists` }
      : {
          mark: '✗',
          name,
          detail: `the code names ${fn} as a WeChat Pay callback (server/config.ts) but cloudfunctions/${fn}/package.json does not exist`,
        };
  });
}

/** Every collection the functions use has database/<NAME>.json (its rules and indexes). */
export function checkCollections(root: string, facts: AppFacts): Check {
  const name = 'collections';
  let declared: string[];
  try {
    declared = planDatabase(root).map((c) => c.collection);
  } catch (err) {
    if (!(err instanceof PlanError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { mark: '✗', name, detail: (err as Error).message };
  }
  const missing = facts.collections.filter((c) => !declared.includes(c));
  if (missing.length > 0) {
    return {
      mark: '✗',
      name,
      detail: `used by the functions (server/records.ts) but not declared in database/: ${missing.map((c) => `${c}.json`).join(', ')}`,
    };
  }
  return { mark: '✓', name, detail: `${facts.collections.join(', ')} declared in database/` };
}

/** Newest modification time of the files under `dir` (recursively), with the file's name. */
function newest(dir: string, rel: string): { file: string; mtimeMs: number } | undefined {
  let best: { file: string; mtimeMs: number } | undefined;
  if (!fs.existsSync(dir)) return undefined;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const abs = path.join(dir, entry.name);
    const childRel = `${rel}/${entry.name}`;
    const found = entry.isDirectory()
      ? newest(abs, childRel)
      : { file: childRel, mtimeMs: fs.statSync(abs).mtimeMs };
    if (found && (!best || found.mtimeMs > best.mtimeMs)) best = found;
  }
  return best;
}

/**
 * DevTools and miniprogram-ci upload whatever index.js a folder holds. A bundle is stale when any
 * of its sources is newer: the function's TypeScript, anything under server/ (every bundle
 * inlines it), and cloudpay.config.local.json (inlined by the build). A function with no
 * index.ts is plain JavaScript: its index.js is the source.
 */
export function checkBundles(root: string, bundlesDir?: string): Check {
  const name = 'function bundles';
  const functionsDir = path.join(root, 'cloudfunctions');
  if (!fs.existsSync(functionsDir)) {
    return { mark: '✗', name, detail: `no cloudfunctions/ folder in ${root}` };
  }
  const shared = [newest(path.join(root, 'server'), 'server')];
  const localConfig = path.join(root, LOCAL_CONFIG);
  if (fs.existsSync(localConfig)) {
    shared.push({ file: LOCAL_CONFIG, mtimeMs: fs.statSync(localConfig).mtimeMs });
  }
  const problems: string[] = [];
  const names = fs
    .readdirSync(functionsDir)
    .filter((fn) => isFunctionDir(root, fn))
    .sort();
  for (const fn of names) {
    const dir = path.join(functionsDir, fn);
    if (!fs.existsSync(path.join(dir, 'index.ts'))) continue;
    const bundle = path.join(bundlesDir ?? functionsDir, fn, 'index.js');
    if (!fs.existsSync(bundle)) {
      problems.push(`${fn}: no index.js`);
      continue;
    }
    const own = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({
        file: `cloudfunctions/${fn}/${f}`,
        mtimeMs: fs.statSync(path.join(dir, f)).mtimeMs,
      }));
    const sources = [...own, ...shared].filter((s): s is { file: string; mtimeMs: number } => !!s);
    const bundleTime = fs.statSync(bundle).mtimeMs;
    const newer = sources.filter((s) => s.mtimeMs > bundleTime).map((s) => s.file);
    if (newer.length > 0) problems.push(`${fn}: older than ${newer.join(', ')}`);
  }
  if (problems.length > 0) {
    return {
      mark: '✗',
      name,
      detail: 'stale or missing index.js: run npm run build (npm run deploy builds first)',
      more: problems,
    };
  }
  return { mark: '✓', name, detail: `${names.length} index.js newer than their sources` };
}

/** Always a reminder: none of this can be read or set from here. One source with the deploy's list. */
export function consoleReminder(root: string, plans: FunctionPlan[] | undefined): Check {
  return {
    mark: '!',
    name: 'console only',
    detail: 'check these by hand in 云开发控制台; no upload sets them',
    more: [
      '商户号 bound to this env and authorized: 设置 → 其他设置 → 微信支付配置 (then accept in the WeChat Pay merchant app)',
      ...(plans ? formatConsoleSteps(plans, root) : []),
    ],
  };
}

export function runChecks(options: DoctorOptions): Check[] {
  const facts = options.facts ?? appFacts();
  const configs = checkFunctionConfigs(options.root);
  return [
    checkEnvId(options.root, options.env),
    checkMerchant(options.root, options.env),
    configs.check,
    ...checkCallbacks(options.root, facts),
    checkCollections(options.root, facts),
    checkBundles(options.root, options.bundlesDir),
    consoleReminder(options.root, configs.plans),
  ];
}

export function formatChecks(checks: Check[]): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.mark} ${c.name}: ${c.detail}`);
    for (const line of c.more ?? []) lines.push(`    ${line}`);
  }
  return lines;
}

/** Prints every check; returns 1 when any failed (✗), else 0. Warnings (!) do not fail. */
export function runDoctor(options: DoctorOptions & { log: (line: string) => void }): number {
  const checks = runChecks(options);
  for (const line of formatChecks(checks)) options.log(line);
  const failed = checks.filter((c) => c.mark === '✗').length;
  options.log(
    failed === 0
      ? 'Pre-flight checks passed.'
      : `${failed} pre-flight check${failed === 1 ? '' : 's'} failed (✗ above).`,
  );
  return failed === 0 ? 0 : 1;
}
