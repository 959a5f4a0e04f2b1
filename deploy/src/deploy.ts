// The deploy itself: settings checked, plan computed, then (unless a dry run) the database step,
// each function uploaded, and the timer triggers created. Network and miniprogram-ci come in
// through parameters so tests run the same sequence against recording fakes.
import { TRIGGER_CREATED, type CloudUploader } from './ci';
import { planDatabase, planFunctions, type CollectionPlan, type FunctionPlan } from './plan';
import {
  formatBytes,
  formatConsoleSteps,
  formatDatabaseRequests,
  formatFunctions,
  formatRulesChecklist,
} from './report';
import {
  applyRules,
  DEFAULT_REGION,
  formatRulesRequests,
  resolveTencentCredentials,
  safeRuleRequests,
  type TencentCredentials,
} from './rules';
import { resolveSettings, SettingsError, type DeploySettings } from './settings';
import { withTimeout } from './timeout';
import { applyContent, formatContentPlan, planContent, type UploadForm } from './content';
import { applyDatabase, type Fetch } from './wechat-api';

export interface Timeouts {
  /** One uploadFunction, remote npm install included. */
  uploadMs: number;
  /** Every other call (createTimeTrigger, WeChat API). */
  callMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { uploadMs: 5 * 60 * 1000, callMs: 60 * 1000 };

export class DeployError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployError';
  }
}

export interface DeployOptions {
  root: string;
  /** Where the function folders to upload are: the production build's folder. Default cloudfunctions/. */
  functionsDir?: string;
  env: Record<string, string | undefined>;
  log: (line: string) => void;
  dryRun: boolean;
  /** Also create collections and indexes (needs WX_APPSECRET). */
  database: boolean;
  skipTriggers: boolean;
  /** Also set the security rules through Tencent Cloud's API (needs TENCENTCLOUD_SECRETID/KEY). */
  rules?: boolean;
  /** Also upload content/ (files to storage, records to their collections; needs WX_APPSECRET). */
  content?: boolean;
  /** The form POST of a file to cloud storage (only with `content`). */
  uploadForm?: UploadForm;
  /** The pre-flight checks (doctor.ts), run before any network; false stops a real deploy. */
  preflight?: (log: (line: string) => void) => boolean;
  timeouts: Timeouts;
  /** Called only for a real deploy, after every check passed: loads miniprogram-ci. */
  openUploader: (settings: DeploySettings) => { uploader: CloudUploader; close(): void };
  fetch: Fetch;
}

/** Adds what the user can do about the usual upload failures. */
function withHint(message: string, settings: DeploySettings): string {
  if (/env not found/i.test(message)) {
    return `${message}: ${settings.envId} is not an environment of ${settings.appid}; use the FULL env id, not its alias`;
  }
  if (/\bip\b|白名单|whitelist/i.test(message)) {
    return `${message}: add this machine's public IP to the upload key's IP 白名单 (微信公众平台 → 开发管理 → 开发设置 → 小程序代码上传)`;
  }
  return message;
}

/**
 * Uploads every function, then creates the timer triggers (uploadFunction ignores config.json).
 * Stops at the first failure and says what was and was not uploaded.
 */
export async function uploadFunctions(
  plans: FunctionPlan[],
  settings: DeploySettings,
  uploader: CloudUploader,
  options: { log: (line: string) => void; timeouts: Timeouts; skipTriggers: boolean },
): Promise<void> {
  const done: string[] = [];
  for (const plan of plans) {
    options.log(
      `uploading ${plan.name} (${plan.files.length} files, ${formatBytes(plan.totalBytes)}) to ${settings.envId}`,
    );
    try {
      const result = await withTimeout(
        `uploadFunction ${plan.name}`,
        options.timeouts.uploadMs,
        () =>
          uploader.uploadFunction({
            env: settings.envId,
            name: plan.name,
            path: plan.dir,
            remoteNpmInstall: true,
          }),
      );
      options.log(
        `  uploaded ${plan.name}: ${result.filesCount} files, ${formatBytes(result.packSize)} zipped`,
      );
    } catch (err) {
      const rest = plans.map((p) => p.name).filter((n) => !done.includes(n));
      throw new DeployError(
        `uploadFunction ${plan.name} failed: ${withHint((err as Error).message ?? String(err), settings)}\n` +
          `  uploaded: ${done.join(', ') || 'none'}; not uploaded: ${rest.join(', ')}`,
      );
    }
    done.push(plan.name);
  }
  for (const plan of plans.filter((p) => p.triggers.length > 0)) {
    const names = plan.triggers.map((t) => t.name).join(', ');
    if (options.skipTriggers) {
      options.log(`skipped trigger ${names} of ${plan.name} (--skip-triggers)`);
      continue;
    }
    const result = await withTimeout(
      `createTimeTrigger ${plan.name}`,
      options.timeouts.callMs,
      () =>
        uploader.createTimeTrigger({
          envId: settings.envId,
          functionName: plan.name,
          triggersConfig: plan.triggers,
        }),
    );
    // miniprogram-ci returns an error string instead of throwing, and the same one for every
    // cause: a network error, a bad cron, or a trigger that exists from an earlier deploy.
    if (result !== TRIGGER_CREATED) {
      throw new DeployError(
        `createTimeTrigger ${plan.name} failed: miniprogram-ci said ${JSON.stringify(result)}. ` +
          `It says so for every failure, a trigger that already exists from an earlier deploy included: ` +
          `check 云开发控制台 → 云函数 → ${plan.name} → 触发器, or redeploy with --skip-triggers`,
      );
    }
    options.log(`  created trigger ${names} on ${plan.name}`);
  }
}

function printPlan(
  log: (line: string) => void,
  functions: FunctionPlan[],
  collections: CollectionPlan[],
  envId: string,
): void {
  for (const line of formatFunctions(functions, envId)) log(line);
  for (const line of formatDatabaseRequests(collections, envId)) log(line);
}

function printManualSteps(
  log: (line: string) => void,
  root: string,
  functions: FunctionPlan[],
  collections: CollectionPlan[],
  envId: string,
  rulesApplied = false,
): void {
  if (!rulesApplied) for (const line of formatRulesChecklist(collections, envId)) log(line);
  for (const line of formatConsoleSteps(functions, root)) log(line);
}

/** Returns the process exit code: 0 done, 1 settings or plan problem, 2 a failed network step. */
export async function runDeploy(options: DeployOptions): Promise<number> {
  const { log } = options;
  let settings: DeploySettings | undefined;
  let settingsError: SettingsError | undefined;
  try {
    settings = resolveSettings({
      root: options.root,
      env: options.env,
      requireAppSecret: options.database || !!options.content,
    });
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    settingsError = err;
  }
  // --rules: absent keys mean the console checklist; half-set or malformed keys are a problem.
  let tencent: TencentCredentials | undefined;
  let tencentProblem: string | undefined;
  if (options.rules) {
    try {
      tencent = resolveTencentCredentials(options.env);
    } catch (err) {
      tencentProblem = (err as Error).message;
    }
  }
  // A real deploy stops here; a dry run still shows the plan, then the problems.
  if ((settingsError || tencentProblem) && !options.dryRun) {
    log([settingsError?.message, tencentProblem].filter(Boolean).join('\n'));
    return 1;
  }
  let preflightOk = true;
  if (options.preflight) {
    log('Pre-flight checks (npm run doctor):');
    preflightOk = options.preflight(log);
    if (!preflightOk && !options.dryRun) {
      log('nothing was uploaded: fix the ✗ above first');
      return 1;
    }
  }
  const functions = planFunctions(options.root, options.functionsDir);
  const collections = planDatabase(options.root);
  // A content/ document naming a missing file stops the deploy here, before any network.
  const content = options.content ? planContent(options.root) : undefined;
  const envId = settings?.envId ?? '<CLOUDPAY_ENV_ID>';

  if (options.dryRun) {
    log('Dry run: nothing is sent; miniprogram-ci is not loaded.');
    printPlan(log, functions, collections, envId);
    if (content) for (const line of formatContentPlan(content, envId)) log(line);
    if (options.rules) {
      const region = tencent?.region ?? (options.env.TENCENTCLOUD_REGION?.trim() || DEFAULT_REGION);
      for (const line of formatRulesRequests(safeRuleRequests(envId, collections), region)) {
        log(line);
      }
      if (!tencent && !tencentProblem) {
        log(
          '  (TENCENTCLOUD_SECRETID/SECRETKEY not set: a real deploy prints the console steps below instead)',
        );
      }
    }
    printManualSteps(log, options.root, functions, collections, envId);
    if (settingsError || tencentProblem || !preflightOk) {
      for (const problem of [settingsError?.message, tencentProblem]) if (problem) log(problem);
      return 1;
    }
    const s = settings as DeploySettings;
    log(`Settings OK: appid ${s.appid}, upload key ${s.privateKeyPath}, env ${s.envId}`);
    return 0;
  }

  const s = settings as DeploySettings;
  log(`Deploying to env ${s.envId} of ${s.appid} with the upload key ${s.privateKeyPath}`);
  // What both WeChat server API steps need (the AppSecret was required above for either).
  const api = {
    appid: s.appid,
    appSecret: s.appSecret as string,
    envId: s.envId,
    fetch: options.fetch,
    log,
    timeoutMs: options.timeouts.callMs,
  };
  try {
    if (options.database) {
      log('Creating collections and indexes (WeChat server API):');
      await applyDatabase(api, collections);
    }
    if (content) {
      if (!options.uploadForm) throw new DeployError('--content needs an uploadForm');
      log('Uploading content (WeChat server API):');
      await applyContent({ ...api, uploadForm: options.uploadForm }, content);
    }
    if (options.rules && tencent) {
      log('Setting security rules (Tencent Cloud API ModifySafeRule):');
      await applyRules(
        { credentials: tencent, fetch: options.fetch, log, timeoutMs: options.timeouts.callMs },
        safeRuleRequests(s.envId, collections),
      );
    } else if (options.rules) {
      log(
        '--rules: TENCENTCLOUD_SECRETID/SECRETKEY are not set: set the rules in the console (steps below).',
      );
    }
    const { uploader, close } = options.openUploader(s);
    try {
      await uploadFunctions(functions, s, uploader, {
        log,
        timeouts: options.timeouts,
        skipTriggers: options.skipTriggers,
      });
    } finally {
      close();
    }
  } catch (err) {
    log(`deploy failed: ${(err as Error).message}`);
    return 2;
  }
  log('Deployed. What is left for the console:');
  printManualSteps(
    log,
    options.root,
    functions,
    collections,
    s.envId,
    !!(options.rules && tencent),
  );
  if (!options.database) {
    log(
      'Collections and indexes: run again with --database (needs WX_APPSECRET), or create them in the console as listed in database/*.json.',
    );
  }
  return 0;
}
