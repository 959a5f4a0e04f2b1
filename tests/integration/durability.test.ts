import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { Journal } from '../../emulator/src/database/journal';
import { acquireLock } from '../../emulator/src/database/lock';
import {
  compactedEntries,
  exportDataDir,
  importIntoDataDir,
} from '../../emulator/src/database/portable';
import { Store } from '../../emulator/src/database/store';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

// The data dir must never be lost or bricked: documents past MongoDB's limits are refused at
// write time, a journal is read as a stream and compacted while running, and one data dir has
// one user at a time (issue 15 items 2 and 4).

const started: RunningEmulator[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const emu of started.splice(0)) await emu.stop();
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

async function startOn(dataDir: string, project = makeProject()): Promise<RunningEmulator> {
  const emu = await startEmulator({ ...project, port: 0, dataDir });
  started.push(emu);
  return emu;
}

const offlineClock = { now: () => 0, schedule: () => ({ cancel: () => undefined }) };

function tempDataDir(): string {
  return path.join(makeProject().projectDir, 'data');
}

/** `{s: {s: ... {s: 1}}}` with `levels` objects in all, as MongoDB's SERVER-26703 test builds it. */
const nestedSource = (levels: number): string =>
  `(() => { let d = { s: 1 }; for (let i = 1; i < ${levels}; i++) d = { s: d }; return d; })()`;

test('documents nested past 100 levels are refused at write time, nothing is stored, and the data dir restarts', async () => {
  // MongoDB Limits and Thresholds: "MongoDB supports no more than 100 levels of nesting for BSON
  // documents"; SERVER-26703: inserting makeNestObj(101) must fail with a write error; SERVER-28347:
  // an update that would pass the limit fails too.
  const dataDir = tempDataDir();
  const project = makeProject();
  const first = await startOn(dataDir, project);
  const r = await runWithSdk<Record<string, unknown>>(
    first.url,
    `const items = db.collection('ITEMS');
     const fail = async (p) => { try { await p; return 'no error'; } catch (e) { return e.errMsg; } };
     const r = {};
     r.deep = await fail(items.add({ data: { _id: 'deep', d: ${nestedSource(100)} } }));
     r.atLimit = (await items.add({ data: ${nestedSource(100)} }))._id.length;
     await items.add({ data: { _id: 'flat', d: { s: 1 } } });
     r.deeperUpdate = await fail(items.doc('flat').update({ data: { e: ${nestedSource(100)} } }));
     r.ids = (await items.get()).data.map((d) => d._id === 'flat' ? 'flat' : typeof d.s);
     return r;`,
  );
  expect(r.deep).toMatch(/cannot insert document because it exceeds 100 levels of nesting/);
  expect(r.atLimit).toBe(32);
  expect(r.deeperUpdate).toMatch(/exceed 100 levels of nesting/);
  expect((r.ids as string[]).sort()).toEqual(['flat', 'object']);
  await first.stop();
  started.length = 0;

  const second = await startOn(dataDir, project);
  const flat = await runWithSdk<unknown>(
    second.url,
    `return (await db.collection('ITEMS').doc('flat').get()).data.d;`,
  );
  expect(flat).toEqual({ s: 1 });
});

test('a journal holding a document nested thousands of levels deep (an older emulator took it) still starts and exports', async () => {
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'database', 'journal.jsonl');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let deep: unknown = { s: { $numberInt: '1' } };
  for (let i = 0; i < 3000; i++) deep = { s: deep };
  const lines = [
    { op: 'create', collection: 'ITEMS' },
    { op: 'write', writes: [{ collection: 'ITEMS', id: 'ok', doc: { _id: 'ok', n: 1 } }] },
    { op: 'write', writes: [{ collection: 'ITEMS', id: 'deep', doc: { _id: 'deep', d: deep } }] },
  ];
  fs.writeFileSync(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));

  const emu = await startOn(dataDir);
  expect(emu.events.since(0, 'emulator.warning').map((e) => String(e.data.message))).toContainEqual(
    expect.stringMatching(/ITEMS\/deep nests deeper than 100 levels/),
  );
  const ids = await runWithSdk<string[]>(
    emu.url,
    `return (await db.collection('ITEMS').get()).data.map((d) => d._id);`,
  );
  expect(ids).toEqual(['ok']);
  expect(fs.readFileSync(`${file}.rejected`, 'utf8')).toContain('"id":"deep"');
  await emu.stop();
  started.length = 0;
  expect(exportDataDir(dataDir).collections.ITEMS).toEqual([{ _id: 'ok', n: 1 }]);
});

test('the journal is compacted in the background once it has grown well past the live data', async () => {
  const dataDir = tempDataDir();
  const journal = new Journal(dataDir, { compactMinBytes: 64 * 1024, compactRatio: 4 });
  const store = new Store(offlineClock, (entry) => journal.append(entry));
  journal.rewrite([]);
  journal.liveEntries = () => compactedEntries(store);
  store.createCollection('DOCS');
  const body = 'x'.repeat(1000);
  let biggest = 0;
  for (let i = 0; i < 400; i++) {
    store.update(
      'DOCS',
      { _id: 'one' },
      { kind: 'operators', modifier: { $set: { i, body } } },
      {
        multi: false,
        upsert: true,
      },
    );
    biggest = Math.max(biggest, journal.bytes());
    if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await journal.settled();
  journal.close();
  // 400 versions of a ~1 KB document would be ~400 KB; compaction kept it under the threshold.
  expect(biggest).toBeLessThan(4 * 64 * 1024);
  expect(fs.statSync(journal.file).size).toBeLessThan(70 * 1024);
  const reloaded = new Store(offlineClock);
  for (const entry of new Journal(dataDir).read()) reloaded.replay(entry);
  expect(reloaded.get('DOCS', 'one')).toEqual({ _id: 'one', i: 399, body });
});

test('a batch cut short by a kill is dropped whole, with a warning and a copy kept', async () => {
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'database', 'journal.jsonl');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const write = (id: string, more: boolean): string =>
    JSON.stringify({
      op: 'write',
      writes: [{ collection: 'ITEMS', id, doc: { _id: id } }],
      ...(more ? { more: true } : {}),
    });
  // A committed one-document write, then a two-document batch whose last line never made it.
  fs.writeFileSync(
    file,
    `${JSON.stringify({ op: 'create', collection: 'ITEMS' })}\n${write('a', false)}\n${write('b', true)}\n{"op":"wr`,
  );
  const warnings: string[] = [];
  const entries = [...new Journal(dataDir, { warn: (m) => warnings.push(m) }).read()];
  expect(entries).toEqual([
    { op: 'create', collection: 'ITEMS' },
    { op: 'write', writes: [{ collection: 'ITEMS', id: 'a', doc: { _id: 'a' } }] },
  ]);
  expect(warnings).toEqual([
    expect.stringMatching(/interrupted write that was never acknowledged/),
  ]);
  expect(fs.readFileSync(`${file}.torn`, 'utf8')).toContain('"id":"b"');
});

test('a corrupt last line ending in a newline is dropped with a warning and a copy; one in the middle stops the start, naming the line', async () => {
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'database', 'journal.jsonl');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const create = JSON.stringify({ op: 'create', collection: 'ITEMS' });
  fs.writeFileSync(file, `${create}\n{not json}\n`);
  const warnings: string[] = [];
  expect([...new Journal(dataDir, { warn: (m) => warnings.push(m) }).read()]).toEqual([
    { op: 'create', collection: 'ITEMS' },
  ]);
  expect(warnings).toEqual([expect.stringMatching(/line 2 is corrupt and is the last entry/)]);
  expect(fs.readFileSync(`${file}.corrupt`, 'utf8')).toContain('{not json}');

  fs.writeFileSync(file, `${create}\n{not json}\n${create}\n`);
  expect(() => [...new Journal(dataDir).read()]).toThrow(/journal\.jsonl line 2 is corrupt/);
});

// ---- one user per data dir (item 4) ------------------------------------------------------------

function sleeper(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

test('a second emulator on a data dir in use is refused; a stale lock from a dead pid is taken over with a message', async () => {
  const dataDir = tempDataDir();
  const first = await startOn(dataDir);
  await expect(startEmulator({ ...makeProject(), port: 0, dataDir })).rejects.toThrow(
    new RegExp(`is in use by another emulator in this process \\(pid ${process.pid}`),
  );
  // export and import respect the lock too.
  expect(() => exportDataDir(dataDir)).toThrow(/is in use .*GET \/emulator\/v1\/database\/export/);
  expect(() =>
    importIntoDataDir(dataDir, {
      format: 'wxcloud-emulator-database',
      version: 1,
      collections: {},
    }),
  ).toThrow(/is in use/);
  await first.stop();
  started.length = 0;

  const lock = path.join(dataDir, 'database', 'LOCK');
  const other = sleeper();
  fs.writeFileSync(lock, `${other.pid}\n`);
  await expect(startEmulator({ ...makeProject(), port: 0, dataDir })).rejects.toThrow(
    new RegExp(`in use by process \\(pid ${other.pid}`),
  );

  const dead = await deadPid();
  fs.writeFileSync(lock, `${dead}\n`);
  const taker = await startOn(dataDir);
  expect(
    taker.events.since(0, 'emulator.warning').map((e) => String(e.data.message)),
  ).toContainEqual(expect.stringMatching(new RegExp(`left by pid ${dead}, which no longer runs`)));
  expect(fs.readFileSync(lock, 'utf8').split('\n')[0]).toBe(String(process.pid));
});

test("of two takers of the same dead pid's lock at the same instant, exactly one wins", async () => {
  const dataDir = tempDataDir();
  const lock = path.join(dataDir, 'database', 'LOCK');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const dead = await deadPid();
  fs.writeFileSync(lock, `${dead}\n`);
  const warnings: string[] = [];
  const warn = (m: string): number => warnings.push(m);
  let second: (() => void) | undefined;
  // The first has judged the lock stale; at that very instant the second takes it over. The
  // first must then see the second's live lock, not delete it and take the dir as well.
  expect(() =>
    acquireLock(dataDir, 'testing', warn, () => {
      second = acquireLock(dataDir, 'testing', warn);
    }),
  ).toThrow(/is in use by another emulator in this process/);
  expect(second).toBeDefined();
  expect(warnings).toEqual([expect.stringMatching(new RegExp(`left by pid ${dead}`))]);
  expect(fs.readdirSync(path.dirname(lock))).toEqual(['LOCK']);
  second?.();
  expect(fs.existsSync(lock)).toBe(false);
});

test('an emulator never deletes a lock it does not own', async () => {
  const dataDir = tempDataDir();
  const emu = await startOn(dataDir);
  const lock = path.join(dataDir, 'database', 'LOCK');
  const other = sleeper();
  // Someone took the lock over (say, after wrongly judging ours stale): it is theirs now.
  fs.writeFileSync(lock, `${other.pid}\n`);
  await emu.stop();
  started.length = 0;
  expect(fs.readFileSync(lock, 'utf8')).toBe(`${other.pid}\n`);
});

// ---- a full disk (item 5) ----------------------------------------------------------------------

test('a failed or short journal write refuses the operation, leaves the journal whole, and writes work again once space returns (injected disk)', () => {
  const dataDir = tempDataDir();
  let full = false;
  const writeSync = (fd: number, buffer: Buffer, offset: number, length: number): number => {
    if (!full) return fs.writeSync(fd, buffer, offset, length);
    // A disk that takes part of a write, then has no room left: write(2)'s short count, then ENOSPC.
    if (length > 10) return fs.writeSync(fd, buffer, offset, 10);
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  const journal = new Journal(dataDir, { writeSync });
  const store = new Store(offlineClock, (entry) => journal.append(entry));
  journal.rewrite([]);
  store.createCollection('ITEMS');
  store.insert('ITEMS', [{ _id: 'before', n: 1 }]);
  const sizeBefore = fs.statSync(journal.file).size;

  full = true;
  expect(() =>
    store.insert('ITEMS', [
      { _id: 'lost', n: 2 },
      { _id: 'lost2', n: 3 },
    ]),
  ).toThrow(/could not write its database journal .*ENOSPC.*nothing was stored/);
  expect(store.get('ITEMS', 'lost')).toBeNull();
  expect(fs.statSync(journal.file).size).toBe(sizeBefore);

  full = false;
  store.insert('ITEMS', [{ _id: 'after', n: 4 }]);
  journal.close();
  const reloaded = new Store(offlineClock);
  const warnings: string[] = [];
  for (const entry of new Journal(dataDir, { warn: (m) => warnings.push(m) }).read())
    reloaded.replay(entry);
  expect(reloaded.documentIds('ITEMS')).toEqual(['before', 'after']);
  expect(warnings).toEqual([]);
});

/** A 1 MB tmpfs for the data dir, or the reason the machine will not mount one. */
function mountTinyTmpfs(): { dir: string; unmount: () => void } | string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    fs.rmdirSync(dir);
    return `mount -t tmpfs failed (${String((err as Error).message).split('\n')[0]})`;
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir]);
      fs.rmdirSync(dir);
    },
  };
}

const tmpfs = mountTinyTmpfs();
afterAll(() => {
  if (typeof tmpfs !== 'string') tmpfs.unmount();
});
if (typeof tmpfs === 'string') {
  // The issue allows this one skip, printed: without a mountable tmpfs the injected disk above
  // still covers the journal's handling of a failed write.
  console.warn(`SKIPPED the real disk-full test: ${tmpfs}`);
}
(typeof tmpfs === 'string' ? test.skip : test)(
  'on a real full disk (tmpfs) the SDK gets an error, acknowledged writes survive a restart, and writes resume once space returns',
  async () => {
    const { dir } = tmpfs as { dir: string };
    const dataDir = path.join(dir, 'data');
    const project = makeProject();
    const emu = await startOn(dataDir, project);
    // Leave ~300 KB free, then write 20 KB documents until the disk refuses one.
    const free = (): number => fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize;
    fs.writeFileSync(path.join(dir, 'filler'), Buffer.alloc(Math.max(0, free() - 300 * 1024)));
    const r = await runWithSdk<{ acknowledged: string[]; error: string }>(
      emu.url,
      `const items = db.collection('ITEMS');
       const acknowledged = [];
       for (let i = 0; i < 200; i++) {
         try { await items.add({ data: { _id: 'd' + i, body: 'x'.repeat(20000) } }); acknowledged.push('d' + i); }
         catch (e) { return { acknowledged, error: e.errMsg }; }
       }
       return { acknowledged, error: 'the disk never filled' };`,
    );
    expect(r.error).toMatch(/could not write its database journal .*ENOSPC/);
    expect(r.acknowledged.length).toBeGreaterThan(3);
    await emu.stop();
    started.length = 0;

    // Still full: the restart cannot compact, says so, and keeps every acknowledged write.
    const again = await startOn(dataDir, project);
    const ids = await runWithSdk<string[]>(
      again.url,
      `return (await db.collection('ITEMS').field({ _id: true }).limit(1000).get()).data.map((d) => d._id);`,
    );
    expect(ids.sort()).toEqual([...r.acknowledged].sort());
    fs.rmSync(path.join(dir, 'filler'));
    const more = await runWithSdk<string>(
      again.url,
      `return (await db.collection('ITEMS').add({ data: { _id: 'later', body: 'y' } }))._id;`,
    );
    expect(more).toBe('later');
    await again.stop();
    started.length = 0;
    const warnings: string[] = [];
    const reloaded = new Store(offlineClock);
    for (const entry of new Journal(dataDir, { warn: (m) => warnings.push(m) }).read())
      reloaded.replay(entry);
    expect(reloaded.documentIds('ITEMS').sort()).toEqual([...r.acknowledged, 'later'].sort());
    expect(warnings).toEqual([]);
  },
);
