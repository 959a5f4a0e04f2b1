import fs from 'node:fs';

/** A function name as invoke and the fault rules accept it: 1-60 of letters, digits, `_` and `-`. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,60}$/;

/** A function's config.json as the runtime uses it. */
export interface FunctionConfig {
  timeoutMs: number;
  triggers: { name: string; type: string; config: string }[];
}

/** The config.json files of the served functions, parsed once per version of each file. */
export class FunctionConfigs {
  private readonly cache = new Map<
    string,
    { mtimeMs: number; size: number; config: FunctionConfig }
  >();

  /**
   * config.json: `timeout` (seconds) and `triggers`; bad files fail with the file named. Read
   * again only when the file changed (one stat per invocation instead of a read and a parse), so
   * an edit still applies to the next invocation.
   */
  read(file: string, defaultTimeoutMs: number): FunctionConfig {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    const cached = this.cache.get(file);
    if (stat && cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) {
      return { timeoutMs: cached.config.timeoutMs, triggers: [...cached.config.triggers] };
    }
    const config = parseConfig(file, stat !== undefined, defaultTimeoutMs);
    if (stat) this.cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, config });
    return { timeoutMs: config.timeoutMs, triggers: [...config.triggers] };
  }
}

function parseConfig(file: string, exists: boolean, defaultTimeoutMs: number): FunctionConfig {
  const config: FunctionConfig = {
    timeoutMs: defaultTimeoutMs,
    triggers: [],
  };
  if (!exists) return config;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${file} must hold a JSON object`);
  }
  const { timeout, triggers } = parsed as Record<string, unknown>;
  if (timeout !== undefined) {
    if (typeof timeout !== 'number' || !(timeout > 0) || timeout > 900) {
      throw new Error(`${file}: timeout must be a number of seconds from 0 to 900`);
    }
    config.timeoutMs = Math.round(timeout * 1000);
  }
  if (triggers !== undefined) {
    if (!Array.isArray(triggers)) throw new Error(`${file}: triggers must be an array`);
    for (const [i, t] of triggers.entries()) {
      const { name: tName, type, config: expr } = (t ?? {}) as Record<string, unknown>;
      if (typeof tName !== 'string' || typeof type !== 'string' || typeof expr !== 'string') {
        throw new Error(`${file}: triggers[${i}] needs string name, type and config`);
      }
      config.triggers.push({ name: tName, type, config: expr });
    }
  }
  return config;
}
