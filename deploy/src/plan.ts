// What a deploy would send, computed from the files alone (no network, no miniprogram-ci): the
// function folders as miniprogram-ci zips them, their timer triggers, and the database requests.
// The dry run prints this plan and the real deploy executes it, so the two cannot drift apart.
import fs from 'node:fs';
import path from 'node:path';

export interface TimerTrigger {
  name: string;
  type: 'timer';
  /** Seven-field cron: second minute hour day month weekday year. */
  config: string;
}

export interface FunctionPlan {
  name: string;
  /** Absolute folder uploaded as is. */
  dir: string;
  /** Relative posix paths and byte sizes, in upload order. */
  files: { path: string; size: number }[];
  totalBytes: number;
  /** From config.json: NOT applied by the upload; printed as a console step. */
  timeoutSeconds?: number;
  triggers: TimerTrigger[];
}

export interface IndexSpec {
  name: string;
  unique: boolean;
  keys: { name: string; direction: '1' | '-1' | '2dsphere' }[];
}

/** One request to WeChat's server API, without the access token (it goes in the query string). */
export interface ApiRequest {
  path: '/tcb/databasecollectionadd' | '/tcb/updateindex';
  body: Record<string, unknown>;
}

export interface CollectionPlan {
  collection: string;
  file: string;
  /** The security rule exactly as the console's 自定义安全规则 box takes it. */
  rules: Record<string, unknown>;
  indexes: IndexSpec[];
}

/** A function folder or database file that cannot be deployed as it is. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new PlanError(`${what}: cannot read ${file}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PlanError(`${what}: ${file} is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Lists a folder the way miniprogram-ci's zipFile does with remoteNpmInstall: everything,
 * dotfiles included, except the top-level node_modules (the cloud installs dependencies itself).
 */
export function listUploadFiles(dir: string): { path: string; size: number }[] {
  const files: { path: string; size: number }[] = [];
  const walk = (abs: string, rel: string): void => {
    for (const entry of fs.readdirSync(abs).sort()) {
      if (rel === '' && entry === 'node_modules') continue;
      const childAbs = path.join(abs, entry);
      const childRel = rel ? `${rel}/${entry}` : entry;
      const stat = fs.lstatSync(childAbs);
      if (stat.isDirectory()) walk(childAbs, childRel);
      else files.push({ path: childRel, size: stat.size });
    }
  };
  walk(dir, '');
  return files;
}

function parseTriggers(raw: unknown, where: string): TimerTrigger[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new PlanError(`${where}: "triggers" must be an array`);
  return raw.map((t: unknown, i) => {
    const { name, type, config } = (t ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[a-zA-Z][a-zA-Z0-9_-]{0,59}$/.test(name)) {
      throw new PlanError(`${where}: triggers[${i}].name must be 1-60 letters, digits, - or _`);
    }
    if (type !== 'timer') {
      throw new PlanError(
        `${where}: triggers[${i}].type must be "timer" (the only kind supported)`,
      );
    }
    // The cloud's cron has seven fields (with seconds and year); a five-field Unix cron is refused.
    if (typeof config !== 'string' || config.trim().split(/\s+/).length !== 7) {
      throw new PlanError(
        `${where}: triggers[${i}].config must be a 7-field cron "second minute hour day month weekday year", e.g. "0 */5 * * * * *"`,
      );
    }
    return { name, type, config: config.trim() };
  });
}

/**
 * Plans every folder under cloudfunctions/ that has a package.json, as found in `functionsDir`:
 * the production build's own folder (the deploy builds there, so cloudfunctions/ is untouched),
 * or cloudfunctions/ itself with --no-build.
 */
export function planFunctions(
  root: string,
  functionsDir = path.join(root, 'cloudfunctions'),
): FunctionPlan[] {
  const names = fs
    .readdirSync(functionsDir, { withFileTypes: true })
    .filter(
      (d) => d.isDirectory() && fs.existsSync(path.join(functionsDir, d.name, 'package.json')),
    )
    .map((d) => d.name)
    .sort();
  if (names.length === 0) throw new PlanError(`no function folders in ${functionsDir}`);
  return names.map((name) => {
    const dir = path.join(functionsDir, name);
    const where = `cloudfunctions/${name}/config.json`;
    // The cloud runs index.js; the TypeScript beside it is only the source.
    if (!fs.existsSync(path.join(dir, 'index.js'))) {
      throw new PlanError(`cloudfunctions/${name}/index.js is missing: run npm run build first`);
    }
    const config = fs.existsSync(path.join(dir, 'config.json'))
      ? (readJson(path.join(dir, 'config.json'), where) as Record<string, unknown>)
      : {};
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new PlanError(`${where} must hold a JSON object`);
    }
    const timeout = config.timeout;
    if (
      timeout !== undefined &&
      (typeof timeout !== 'number' || !(timeout >= 1 && timeout <= 900))
    ) {
      throw new PlanError(`${where}: "timeout" must be a number of seconds from 1 to 900`);
    }
    const files = listUploadFiles(dir);
    return {
      name,
      dir,
      files,
      totalBytes: files.reduce((sum, f) => sum + f.size, 0),
      ...(typeof timeout === 'number' ? { timeoutSeconds: timeout } : {}),
      triggers: parseTriggers(config.triggers, where),
    };
  });
}

/** Reads database/<COLLECTION>.json: the same files the emulator loads. */
export function planDatabase(root: string): CollectionPlan[] {
  const dir = path.join(root, 'database');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((file) => {
    const collection = file.slice(0, -'.json'.length);
    const where = `database/${file}`;
    const data = readJson(path.join(dir, file), where) as Record<string, unknown>;
    const rules = data?.rules;
    if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
      throw new PlanError(
        `${where}: "rules" must be an object such as {"read": ..., "write": ...}`,
      );
    }
    const rawIndexes = data.indexes ?? [];
    if (!Array.isArray(rawIndexes)) throw new PlanError(`${where}: "indexes" must be an array`);
    const indexes = rawIndexes.map((raw: unknown, i): IndexSpec => {
      const { name, keys, unique } = (raw ?? {}) as Record<string, unknown>;
      if (typeof name !== 'string' || !name) {
        throw new PlanError(`${where}: indexes[${i}].name must be a non-empty string`);
      }
      if (typeof keys !== 'object' || keys === null || Object.keys(keys).length === 0) {
        throw new PlanError(`${where}: indexes[${i}].keys must be an object like {"field": 1}`);
      }
      return {
        name,
        unique: unique === true,
        keys: Object.entries(keys).map(([field, dir]) => {
          // updateindex's legal directions: "1", "-1" and "2dsphere" (a geo index).
          if (dir !== 1 && dir !== -1 && dir !== '2dsphere') {
            throw new PlanError(
              `${where}: index ${name}: key ${field} must be 1, -1 or "2dsphere"`,
            );
          }
          return { name: field, direction: dir === 1 ? '1' : dir === -1 ? '-1' : '2dsphere' };
        }),
      };
    });
    return { collection, file: where, rules: rules as Record<string, unknown>, indexes };
  });
}

/**
 * The WeChat server API requests that create the collections and indexes: one collection add
 * each, then one updateindex per index, so an index that already exists does not block the rest.
 */
export function databaseRequests(envId: string, collections: CollectionPlan[]): ApiRequest[] {
  const requests: ApiRequest[] = [];
  for (const c of collections) {
    requests.push({
      path: '/tcb/databasecollectionadd',
      body: { env: envId, collection_name: c.collection },
    });
    for (const index of c.indexes) {
      requests.push({
        path: '/tcb/updateindex',
        body: {
          env: envId,
          collection_name: c.collection,
          create_indexes: [index],
          drop_indexes: [],
        },
      });
    }
  }
  return requests;
}
