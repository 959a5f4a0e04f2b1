import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * One user of a data dir at a time: `<dataDir>/database/LOCK` holds the owner's pid and a token.
 * It is created exclusively (O_EXCL), so of two emulators started at once only one gets it; the
 * other refuses to start, naming the pid. A lock left by a process that no longer runs (a kill) is
 * taken over with a warning. A lock is only ever deleted by the one who holds it. Two emulators
 * inside one Node process are told apart by the token.
 */
export function lockFile(dataDir: string): string {
  return path.join(dataDir, 'database', 'LOCK');
}

/** Locks this process holds, by lock file: the token written into each. */
const heldHere = new Map<string, string>();

interface LockContent {
  pid: number;
  token: string;
}

function readLock(file: string): LockContent | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const [pidText = '', token = ''] = text.split('\n');
  const pid = Number(pidText.trim());
  return Number.isInteger(pid) && pid > 0 ? { pid, token: token.trim() } : { pid: 0, token: '' };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `content` belongs to a live owner (another process, or a holder in this one). */
function isLive(file: string, content: LockContent): boolean {
  if (content.pid === process.pid) return heldHere.get(file) === content.token;
  return content.pid > 0 && isRunning(content.pid);
}

/** The pid of a live emulator (or export/import) using `dataDir`, if any. */
export function lockHolder(dataDir: string): number | undefined {
  const file = lockFile(dataDir);
  const content = readLock(file);
  return content && isLive(file, content) ? content.pid : undefined;
}

/**
 * Takes the data dir's lock for `purpose` or throws naming the holder; returns the release. A
 * stale lock (its pid no longer runs) is taken over, and `warn` says so.
 */
export function acquireLock(
  dataDir: string,
  purpose: string,
  warn: (message: string) => void,
): () => void {
  const file = lockFile(dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const token = randomBytes(8).toString('hex');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n${token}\n`, { flag: 'wx' });
      heldHere.set(file, token);
      return () => releaseLock(file, token);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const content = readLock(file);
    if (!content) continue; // released meanwhile: try again
    if (isLive(file, content)) {
      const who = content.pid === process.pid ? 'another emulator in this process' : 'process';
      throw new Error(
        `${dataDir} is in use by ${who} (pid ${content.pid}, lock ${file}); stop it before ${purpose}, or use another --data dir`,
      );
    }
    warn(
      `taking over the lock ${file} left by pid ${content.pid || '?'}, which no longer runs (it was killed or crashed)`,
    );
    fs.rmSync(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}; another process keeps replacing it`);
}

function releaseLock(file: string, token: string): void {
  if (heldHere.get(file) === token) heldHere.delete(file);
  const content = readLock(file);
  // Never delete a lock someone else holds now (ours was taken over, or replaced by hand).
  if (content && content.pid === process.pid && content.token === token) {
    fs.rmSync(file, { force: true });
  }
}
