import fs from 'node:fs';
import path from 'node:path';
import { isPermission, PERMISSIONS, type Permission } from './rules/permissions';
import type { CollectionSpec, IndexSpec } from './store';
import { validateCollectionName } from './store';

/**
 * The project's `database/<COLLECTION>.json` files, the same ones deploy applies:
 * `{"rules": {"read": ..., "write": ...}, "indexes": [{"name", "keys": {"field": 1}, "unique"}]}`,
 * or `"permission": "PRIVATE"` (one of the console's four basic permissions) instead of `rules`.
 * Each declares a collection created at start. A bad file stops the start with a message that
 * names the file and the field.
 */
export interface DeclaredCollection extends CollectionSpec {
  name: string;
  file: string;
  indexes: IndexSpec[];
  /** The basic permission declared instead of custom rules, if any. */
  permission?: Permission;
}

export function loadDeclarations(projectDir: string): DeclaredCollection[] {
  const dir = path.join(projectDir, 'database');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => parseDeclaration(path.join(dir, file)));
}

export function parseDeclaration(file: string): DeclaredCollection {
  const name = path.basename(file, '.json');
  const where = `${file}:`;
  try {
    validateCollectionName(name);
  } catch (err) {
    throw new Error(`${where} ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${where} not valid JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${where} must hold an object {"rules": {...}, "indexes": [...]}`);
  }
  const {
    rules,
    permission,
    indexes = [],
    ...rest
  } = raw as { rules?: unknown; permission?: unknown; indexes?: unknown };
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length) {
    throw new Error(
      `${where} unknown key(s) ${unknownKeys.join(', ')}; use "rules" or "permission", and "indexes"`,
    );
  }
  if (permission !== undefined && !isPermission(permission)) {
    throw new Error(
      `${where} "permission" must be one of ${Object.entries(PERMISSIONS)
        .map(([name, meaning]) => `"${name}" (${meaning})`)
        .join(', ')}; got ${JSON.stringify(permission)}`,
    );
  }
  if (permission !== undefined && rules !== undefined) {
    throw new Error(
      `${where} declares both "rules" and "permission": a collection has either custom rules or one basic permission`,
    );
  }
  if (
    rules !== undefined &&
    (rules === null || typeof rules !== 'object' || Array.isArray(rules))
  ) {
    throw new Error(`${where} "rules" must be an object like {"read": "...", "write": "..."}`);
  }
  if (!Array.isArray(indexes)) throw new Error(`${where} "indexes" must be an array`);
  return {
    name,
    file,
    rules,
    ...(permission === undefined ? {} : { permission }),
    indexes: indexes.map((index, i) => parseIndex(index, `${where} indexes[${i}]`)),
  };
}

function parseIndex(raw: unknown, where: string): IndexSpec {
  const index = raw as { name?: unknown; keys?: unknown; unique?: unknown } | null;
  if (!index || typeof index !== 'object') throw new Error(`${where} must be an object`);
  if (typeof index.name !== 'string' || !index.name)
    throw new Error(`${where}.name must be a non-empty string`);
  if (!index.keys || typeof index.keys !== 'object' || Array.isArray(index.keys)) {
    throw new Error(`${where}.keys must be an object like {"field": 1}`);
  }
  const keys: IndexSpec['keys'] = {};
  for (const [field, direction] of Object.entries(index.keys as Record<string, unknown>)) {
    // "2dsphere": a geo index, as the platform's updateindex API takes it.
    if (direction !== 1 && direction !== -1 && direction !== '2dsphere') {
      throw new Error(
        `${where}.keys.${field} must be 1, -1 or "2dsphere", got ${JSON.stringify(direction)}`,
      );
    }
    keys[field] = direction;
  }
  if (!Object.keys(keys).length) throw new Error(`${where}.keys names no field`);
  if (index.unique !== undefined && typeof index.unique !== 'boolean') {
    throw new Error(`${where}.unique must be true or false`);
  }
  return { name: index.name, keys, unique: index.unique === true };
}
