// Human-readable text for the plan and for what only the console can do. Nothing here sees a
// secret: callers pass the env id, names and paths only.
import fs from 'node:fs';
import path from 'node:path';
import { databaseRequests, type CollectionPlan, type FunctionPlan } from './plan';

export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export function formatFunctions(plans: FunctionPlan[], envId: string): string[] {
  const lines = [
    `Functions → env ${envId} (uploadFunction, remoteNpmInstall: the cloud runs npm install):`,
  ];
  for (const plan of plans) {
    lines.push(`  ${plan.name} (${plan.files.length} files, ${formatBytes(plan.totalBytes)})`);
    for (const file of plan.files) lines.push(`    ${file.path}  ${file.size} B`);
    for (const t of plan.triggers) {
      lines.push(
        `    trigger ${t.name}: ${t.type} "${t.config}" (createTimeTrigger, after the upload)`,
      );
    }
  }
  return lines;
}

export function formatDatabaseRequests(collections: CollectionPlan[], envId: string): string[] {
  const lines = [
    'Database (--database: WeChat server API, access token from WX_APPID + WX_APPSECRET, not shown):',
    `  POST https://api.weixin.qq.com/tcb/databasecollectionget?access_token=<token> {"env":"${envId}","limit":1000,"offset":0} (to skip existing collections)`,
  ];
  for (const request of databaseRequests(envId, collections)) {
    lines.push(
      `  POST https://api.weixin.qq.com${request.path}?access_token=<token> ${JSON.stringify(request.body)}`,
    );
  }
  return lines;
}

/** Security rules have no WeChat server API: the exact console steps, with the JSON to paste. */
export function formatRulesChecklist(collections: CollectionPlan[], envId: string): string[] {
  const lines = [
    `Security rules: no WeChat API sets them; in 云开发控制台 (env ${envId}) → 数据库, for each collection:`,
  ];
  for (const c of collections) {
    lines.push(
      `  ${c.collection}: 数据权限 → 自定义安全规则 → paste ${JSON.stringify(c.rules)} → 保存 (from ${c.file})`,
    );
  }
  return lines;
}

/** Which console-only environment variables each function needs (see README, "Configuration"). */
const CONSOLE_ENV_VARS: { variable: string; localKey: string; functions: 'all' | string[] }[] = [
  { variable: 'CLOUDPAY_SUB_MCH_ID', localKey: 'subMchId', functions: 'all' },
  { variable: 'CLOUDPAY_ADMIN_OPENIDS', localKey: 'adminOpenids', functions: ['payrefund'] },
];

function localConfigKeys(root: string): string[] {
  try {
    return Object.keys(
      JSON.parse(fs.readFileSync(path.join(root, 'cloudpay.config.local.json'), 'utf8')),
    );
  } catch {
    return [];
  }
}

/**
 * uploadFunction applies none of config.json (timeout, permissions, triggers) nor environment
 * variables, and creates a missing function with old defaults (Node.js 8.9, 3 s): all console work.
 */
export function formatConsoleSteps(plans: FunctionPlan[], root: string): string[] {
  const inlined = localConfigKeys(root);
  const lines = [
    'Console only (uploadFunction does not apply config.json timeouts or environment variables):',
    '  Create each function once in DevTools or the console (Node.js 16 or later) before the first',
    '  upload: one that does not exist is created by miniprogram-ci with Node.js 8.9 and a 3 s timeout.',
    '  云开发控制台 → 云函数 → <name> → 配置, per function:',
  ];
  for (const plan of plans) {
    const vars = CONSOLE_ENV_VARS.filter(
      (v) => v.functions === 'all' || v.functions.includes(plan.name),
    ).map((v) =>
      inlined.includes(v.localKey)
        ? `${v.variable} (optional: "${v.localKey}" is inlined from cloudpay.config.local.json)`
        : v.variable,
    );
    const timeout = plan.timeoutSeconds === undefined ? 'default' : `${plan.timeoutSeconds} s`;
    lines.push(`  ${plan.name}: timeout ${timeout}; environment variables: ${vars.join(', ')}`);
  }
  return lines;
}
