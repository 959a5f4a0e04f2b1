import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What the emulator knows about one stored file. */
export interface FileMeta {
  /** The cloud path (the object key), e.g. `paid/demo-unlock/guide.pdf`. */
  path: string;
  size: number;
  /** The uploader's openid for a mini-program upload; null for server code and the control API. */
  owner: string | null;
  contentType: string;
  /** Emulated time of the last write, ISO 8601. */
  uploadedAt: string;
  /** MD5 of the bytes in hex, as COS's ETag for a simple upload. */
  etag: string;
}

/**
 * The files, in memory or in the data dir: `<dataDir>/storage/objects/<sha256 of path>` for the
 * bytes and `<dataDir>/storage/index.json` for the metadata (rewritten whole on each change:
 * local storage holds tens of files, not millions).
 */
export class FileStore {
  private readonly files = new Map<string, { meta: FileMeta; bytes: Buffer }>();

  constructor(private readonly dir: string | undefined) {
    if (dir) this.load(dir);
  }

  list(prefix = ''): FileMeta[] {
    return [...this.files.values()]
      .map((f) => f.meta)
      .filter((m) => m.path.startsWith(prefix))
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  head(cloudPath: string): FileMeta | undefined {
    return this.files.get(cloudPath)?.meta;
  }

  get(cloudPath: string): { meta: FileMeta; bytes: Buffer } | undefined {
    return this.files.get(cloudPath);
  }

  put(meta: Omit<FileMeta, 'size' | 'etag'>, bytes: Buffer): FileMeta {
    const full: FileMeta = {
      ...meta,
      size: bytes.length,
      etag: crypto.createHash('md5').update(bytes).digest('hex'),
    };
    this.files.set(meta.path, { meta: full, bytes });
    if (this.dir) {
      fs.writeFileSync(this.objectFile(meta.path), bytes);
      this.saveIndex();
    }
    return full;
  }

  delete(cloudPath: string): boolean {
    const existed = this.files.delete(cloudPath);
    if (existed && this.dir) {
      fs.rmSync(this.objectFile(cloudPath), { force: true });
      this.saveIndex();
    }
    return existed;
  }

  clear(): void {
    for (const cloudPath of [...this.files.keys()]) this.delete(cloudPath);
  }

  private objectFile(cloudPath: string): string {
    const name = crypto.createHash('sha256').update(cloudPath).digest('hex');
    return path.join(this.dir as string, 'objects', name);
  }

  private load(dir: string): void {
    fs.mkdirSync(path.join(dir, 'objects'), { recursive: true });
    const index = path.join(dir, 'index.json');
    if (!fs.existsSync(index)) return;
    let metas: FileMeta[];
    try {
      metas = JSON.parse(fs.readFileSync(index, 'utf8')) as FileMeta[];
    } catch (err) {
      throw new Error(
        `${index}: not valid JSON (${(err as Error).message}); delete it to start empty`,
      );
    }
    for (const meta of metas) {
      const file = this.objectFile(meta.path);
      // A file whose bytes went missing is dropped rather than served empty.
      if (fs.existsSync(file)) this.files.set(meta.path, { meta, bytes: fs.readFileSync(file) });
    }
  }

  private saveIndex(): void {
    const index = path.join(this.dir as string, 'index.json');
    const tmp = `${index}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.list(), null, 1));
    fs.renameSync(tmp, index);
  }
}
