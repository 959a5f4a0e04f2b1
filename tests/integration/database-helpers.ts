import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway project for database tests: `database/<NAME>.json` files as the app declares them
 * and an empty functions folder. USERPAYLOG has the app's unique index on `tradeno`.
 */
export function makeProject(extra: Record<string, unknown> = {}): {
  projectDir: string;
  functionsDir: string;
} {
  const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-db-'));
  const functionsDir = path.join(projectDir, 'cloudfunctions');
  fs.mkdirSync(functionsDir);
  fs.mkdirSync(path.join(projectDir, 'database'));
  const files: Record<string, unknown> = {
    USERPAYLOG: {
      rules: { read: 'doc._openid == auth.openid', write: false },
      indexes: [{ name: 'tradeno_1', keys: { tradeno: 1 }, unique: true }],
    },
    USERUNLOCK: {
      rules: { read: 'doc._openid == auth.openid', write: false },
      indexes: [{ name: 'owner_item', keys: { _openid: 1, itemId: 1 }, unique: true }],
    },
    ITEMS: { rules: { read: true, write: false } },
    ...extra,
  };
  for (const [name, body] of Object.entries(files)) {
    fs.writeFileSync(path.join(projectDir, 'database', `${name}.json`), JSON.stringify(body));
  }
  return { projectDir, functionsDir };
}
