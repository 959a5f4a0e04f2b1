import fs from 'node:fs';
import path from 'node:path';
import { requireCloudPath } from './file-id';

/**
 * Seed data: what a project ships for the emulator to hold at start (and again after a reset),
 * under `<projectDir>/content/`: `storage/<cloud path>` files and `database/<COLLECTION>.json`
 * documents (database/seed.ts). Deploy tools can upload the same folder to a real env.
 */
export const SEED_DIR = 'content';

export interface SeedFile {
  cloudPath: string;
  file: string;
  bytes: Buffer;
}

/** Every file under `<projectDir>/content/storage/`, keyed by its cloud path. */
export function loadSeed(projectDir: string): SeedFile[] {
  const root = path.join(projectDir, SEED_DIR, 'storage');
  if (!fs.existsSync(root)) return [];
  const out: SeedFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const cloudPath = path.relative(root, full).split(path.sep).join('/');
        try {
          requireCloudPath(cloudPath);
        } catch (err) {
          throw new Error(`${full}: not a valid cloud path: ${(err as Error).message}`);
        }
        out.push({ cloudPath, file: full, bytes: fs.readFileSync(full) });
      }
    }
  };
  walk(root);
  return out.sort((a, b) => a.cloudPath.localeCompare(b.cloudPath));
}
