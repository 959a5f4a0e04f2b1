import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * One user of a data dir at a time: `<dataDir>/database/LOCK` holds the owner's pid and a token.
 * It appears whole and exclusively (written beside it, then hard-linked into place, which fails
 * if a LOCK exists), so of two emulators started at once only one gets it, and nobody ever reads
 * a half-written one; the other refuses to start, naming the pid. A lock left by a process that
 * no longer runs (a kill) is taken over with a warning: it is renamed aside (atomic) and the
 * takeover goes on only if the file moved is the very one found stale (same inode); if another
 * process took it over first, the file moved is that one's live lock, which is put back. So of two
 * processes taking over the same dead pid's lock at the same instant, exactly one wins. A lock is
 * only ever deleted by the one who holds it. Two emulators inside one Node process are told apart
 * by the token.
 */
export function lockFile(dataDir: string): string {
  return path.join(dataDir, 'database', 'LOCK');
}

/** Locks this process holds, by lock file: the token written into each. */
const heldHere = new Map<string, string>();

interface LockContent {
  pid: number;
  token: string;
  /** The file's identity when read: a takeover removes this file and no other. */
  ino: number;
  dev: number;
}

function readLock(file: string): LockContent | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const { ino, dev } = fs.fstatSync(fd);
    const text = fs.readFileSync(fd, 'utf8');
    const [pidText = '', token = ''] = text.split('\n');
    const pid = Number(pidText.trim());
    return Number.isInteger(pid) && pid > 0
      ? { pid, token: token.trim(), ino, dev }
      : { pid: 0, token: '', ino, dev };
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates `file` whole with `text`, or returns false if it exists (link(2) is exclusive). */
function createExclusive(file: string, text: string): boolean {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  fs.writeFileSync(draft, text, { flag: 'wx' });
  try {
    fs.linkSync(draft, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // A file system without hard links: O_EXCL still lets only one create it.
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
      return true;
    } catch (wxErr) {
      if ((wxErr as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw wxErr;
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
}

/**
 * Moves the stale lock `seen` out of the way. True if it was that very file; false if the file
 * had already been replaced (another process took over first: its live lock is put back).
 */
function moveStaleLock(file: string, seen: LockContent): boolean {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // gone meanwhile
    throw err;
  }
  // The same file: same inode and the same pid and token (an inode number alone can be reused
  // by a lock created after the stale one was removed; a new lock always has a new token).
  const moved = readLock(aside);
  if (
    moved &&
    moved.ino === seen.ino &&
    moved.dev === seen.dev &&
    moved.pid === seen.pid &&
    moved.token === seen.token
  ) {
    fs.rmSync(aside, { force: true });
    return true;
  }
  // Someone else's lock, created after we looked: back where it was (unless yet another one
  // appeared meanwhile, which then holds the dir: ours is dropped, and both see that holder).
  try {
    fs.linkSync(aside, file);
  } catch {
    // A LOCK exists again: it is the holder now.
  }
  fs.rmSync(aside, { force: true });
  return false;
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
  /** A seam for tests: runs after a stale lock is found, before it is taken over. */
  beforeTakeover?: () => void,
): () => void {
  const file = lockFile(dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const token = randomBytes(8).toString('hex');
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, `${process.pid}\n${token}\n`)) {
      heldHere.set(file, token);
      return () => releaseLock(file, token);
    }
    const content = readLock(file);
    if (!content) continue; // released meanwhile: try again
    if (isLive(file, content)) {
      const who = content.pid === process.pid ? 'another emulator in this process' : 'process';
      throw new Error(
        `${dataDir} is in use by ${who} (pid ${content.pid}, lock ${file}); stop it before ${purpose}, or use another --data dir`,
      );
    }
    beforeTakeover?.();
    if (!moveStaleLock(file, content)) continue; // someone else took it over first: look again
    warn(
      `taking over the lock ${file} left by pid ${content.pid || '?'}, which no longer runs (it was killed or crashed)`,
    );
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
