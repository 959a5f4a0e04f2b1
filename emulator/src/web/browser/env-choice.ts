/**
 * Which hosted env the console shows (`--env-id a,b`): the collections, documents, files and
 * invocations panels read that env through the control API's `?env=`. Empty means the default
 * env, so the routes stay exactly as they were for an emulator hosting one env.
 */
let chosen = '';

export function chosenEnv(): string {
  return chosen;
}

export function chooseEnv(env: string): void {
  chosen = env;
}

/** `route` with `env=<chosen>` added to its query, or unchanged for the default env. */
export function withEnv(route: string): string {
  if (!chosen) return route;
  return `${route}${route.includes('?') ? '&' : '?'}env=${encodeURIComponent(chosen)}`;
}
