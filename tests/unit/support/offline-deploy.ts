import { DEFAULT_TIMEOUTS, type DeployOptions } from '../../../deploy/src/deploy';

/**
 * Deploy options for tests that must never go online: loading miniprogram-ci or sending a request
 * fails the test unless the test overrides `openUploader` / `fetch` itself. The printed lines
 * collect in `output`.
 */
export function offlineDeploy(
  base: Pick<DeployOptions, 'root' | 'env'>,
  overrides: Partial<DeployOptions> = {},
): { options: DeployOptions; output: string[] } {
  const output: string[] = [];
  return {
    output,
    options: {
      ...base,
      log: (line) => output.push(line),
      dryRun: false,
      database: false,
      skipTriggers: false,
      timeouts: DEFAULT_TIMEOUTS,
      openUploader: () => {
        throw new Error('miniprogram-ci must not be loaded');
      },
      fetch: async () => {
        throw new Error('no network in this test');
      },
      ...overrides,
    },
  };
}
