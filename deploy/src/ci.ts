// The only door to miniprogram-ci. Everything else talks to `CloudUploader`, so tests use a
// recording fake and neither `npm install` nor `npm test` ever needs the 275 MB package.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { DeploySettings } from './settings';
import type { TimerTrigger } from './plan';

/** miniprogram-ci's documented success string; anything else it returns is a failure. */
export const TRIGGER_CREATED = '创建定时触发器成功';

/** The two miniprogram-ci calls the deploy makes, with the project already bound. */
export interface CloudUploader {
  uploadFunction(options: {
    env: string;
    name: string;
    path: string;
    remoteNpmInstall: boolean;
  }): Promise<{ filesCount: number; packSize: number }>;
  /** Returns a string, success or error, rather than throwing (miniprogram-ci 2.1.x). */
  createTimeTrigger(options: {
    envId: string;
    functionName: string;
    triggersConfig: TimerTrigger[];
  }): Promise<unknown>;
}

/** The part of miniprogram-ci's surface used here (its own typings are not installed by default). */
interface MiniprogramCi {
  Project: new (options: {
    appid: string;
    type: 'miniProgram';
    projectPath: string;
    privateKeyPath: string;
  }) => unknown;
  cloud: {
    uploadFunction(
      options: Record<string, unknown>,
    ): Promise<{ filesCount: number; packSize: number }>;
    createTimeTrigger(options: Record<string, unknown>): Promise<unknown>;
  };
}

function installedAt(deployDir: string): string {
  return path.join(deployDir, 'node_modules', 'miniprogram-ci', 'package.json');
}

export function isMiniprogramCiInstalled(deployDir: string): boolean {
  return fs.existsSync(installedAt(deployDir));
}

/**
 * Installs deploy/'s locked dependencies on first use. --ignore-scripts: the cloud-function
 * calls need none of the native build steps some of its ~1,100 packages carry.
 */
export function installMiniprogramCi(deployDir: string, log: (line: string) => void): void {
  log('installing miniprogram-ci into deploy/node_modules (first use only: ~275 MB, ~2 minutes)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: deployDir,
    stdio: 'inherit',
    timeout: 15 * 60 * 1000,
  });
  if (result.error || result.status !== 0 || !isMiniprogramCiInstalled(deployDir)) {
    throw new Error(
      `installing miniprogram-ci failed (${result.error?.message ?? `npm ci exited with ${result.status}`}); retry with: npm ci --prefix deploy`,
    );
  }
}

/**
 * Loads miniprogram-ci and binds a Project. The Project scans its projectPath synchronously at
 * construction, and uploadFunction only needs the appid and key from it, so it gets an empty
 * temporary folder instead of the whole repository. Call `close()` when done.
 */
export function openMiniprogramCi(
  deployDir: string,
  settings: DeploySettings,
): { uploader: CloudUploader; close(): void } {
  const ci = createRequire(path.join(deployDir, 'package.json'))('miniprogram-ci') as MiniprogramCi;
  const projectPath = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudpay-deploy-project-'));
  const project = new ci.Project({
    appid: settings.appid,
    type: 'miniProgram',
    projectPath,
    privateKeyPath: settings.privateKeyPath,
  });
  return {
    uploader: {
      uploadFunction: (options) => ci.cloud.uploadFunction({ project, ...options }),
      createTimeTrigger: (options) => ci.cloud.createTimeTrigger({ project, ...options }),
    },
    close: () => fs.rmSync(projectPath, { recursive: true, force: true }),
  };
}
