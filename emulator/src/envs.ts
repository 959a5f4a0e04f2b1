import path from 'node:path';
import { EmulatorError } from './errors';
import type { EmulatorConfig } from './service';

/**
 * The envs one emulator hosts (`--env-id a,b`, the first being the default): what names one,
 * where each keeps its data, and the error for an env it does not host. Every service keeps its
 * data per env (database, realtime watches, storage); requests name theirs with `?env=` (the SDK
 * does so on /admin; the control API takes the same parameter), and no `env` means the default.
 */

/**
 * An SDK call naming an env this emulator does not host. The code is the cloud's (INVALID_ENV,
 * which its own error text links to); "Environment not found" is what the cloud answers for an
 * env id that does not exist (developers' reports of errCode -501000). Nothing is read or written.
 */
export function unknownEnv(env: string, hosted: string[]): EmulatorError {
  return new EmulatorError(
    'INVALID_ENV',
    `Environment not found: env "${env}" is not hosted by wxcloud-emulator (it hosts ${hosted.join(', ')}). To emulate it too, start with --env-id ${[...hosted, env].join(',')} (JS: envId: '${[...hosted, env].join(',')}'); or init the SDK with env: cloud.DYNAMIC_CURRENT_ENV.`,
  );
}

/**
 * The env a control API request names (`?env=ID`), the default env when it names none. An env
 * the emulator does not host answers 404 naming the hosted ones (wxcloud-emulator's wording).
 */
export function controlEnv(config: EmulatorConfig, env: string | undefined): string {
  if (env === undefined || env === '') return config.envId;
  if (!config.envIds.includes(env)) {
    throw new EmulatorError(
      'INVALID_ENV',
      `no env "${env}": this emulator hosts ${config.envIds.join(', ')} (?env= names one of them; add envs with --env-id)`,
      404,
    );
  }
  return env;
}

/**
 * Where an env keeps its data: the default (first) env at the data dir's root, as before the
 * emulator hosted several (so an existing data dir keeps loading), every other env under
 * `envs/<id>/` with the same layout (`database/journal.jsonl`, `storage/`). The lock
 * (`database/LOCK` at the root) covers them all.
 */
export function envDataDir(config: Pick<EmulatorConfig, 'dataDir' | 'envId'>, env: string): string {
  return env === config.envId ? config.dataDir : path.join(config.dataDir, 'envs', env);
}
