import fs from 'node:fs';
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

/** Names the env whose data the data dir's root holds (a text file with the env id). */
export const ROOT_ENV_FILE = 'ROOT_ENV';

const ENV_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * The env whose data the data dir's root holds: the one `ROOT_ENV` names, else (a data dir from
 * before envs, or a new one) the first env, which then claims it when `claim` is set. The file
 * keeps a reordered `--env-id` (test,prod after prod,test) from showing one env's data as the
 * other's.
 */
export function rootEnv(dataDir: string, firstEnv: string, claim = false): string {
  const file = path.join(dataDir, ROOT_ENV_FILE);
  let named: string | undefined;
  try {
    named = fs.readFileSync(file, 'utf8').trim();
  } catch {
    named = undefined;
  }
  if (named && ENV_ID.test(named)) return named;
  if (claim) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, `${firstEnv}\n`);
  }
  return firstEnv;
}

/**
 * Where an env keeps its data: the root env (`rootEnv`: the first env of the first run that
 * used the data dir, so an existing data dir keeps loading as before envs) at the data dir's
 * root (`database/journal.jsonl`, `storage/`), every other env under `envs/<id>/` with the same
 * layout. The lock (`database/LOCK` at the root) covers them all.
 */
export function envDataDir(dataDir: string, root: string, env: string): string {
  return env === root ? dataDir : path.join(dataDir, 'envs', env);
}
