import fs from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../../emulator/src/emulator';
import { runWithSdk } from '../support/sdk';
import { bundleCli, killed, type CliBin } from '../support/cli-process';
import { makeProject } from './database-helpers';

// The CLI as users run it: the bundled bin on plain Node, its ready line, and data that survives
// SIGKILL. The bin is bundled into a temporary folder (tests/support/cli-process.ts) so the test
// never races another build of emulator/dist.

let bin: CliBin;
beforeAll(async () => {
  bin = await bundleCli();
});
afterAll(() => bin.killAll());

const startCli = (args: string[], cwd: string): ReturnType<CliBin['start']> => bin.start(args, cwd);

test('start --port 0 --in-memory prints the ready line; health and the SDK work', async () => {
  const { projectDir, functionsDir } = makeProject();
  const { child, url } = await startCli(
    ['start', '--port', '0', '--in-memory', '--functions', functionsDir],
    projectDir,
  );
  try {
    const health = (await (await fetch(`${url}/emulator/v1/health`)).json()) as Record<
      string,
      unknown
    >;
    expect(health).toMatchObject({
      ok: true,
      envId: 'local-env',
      appid: 'wx0000000000000000',
      mchId: '1900000109',
    });
    const total = await runWithSdk<number>(
      url,
      `await db.collection('ITEMS').add({ data: { a: 1 } }); return (await db.collection('ITEMS').count()).total;`,
    );
    expect(total).toBe(1);
  } finally {
    await killed(child);
  }
});

test('acknowledged writes survive SIGKILL; export, --fresh and import', async () => {
  const { projectDir, functionsDir } = makeProject();
  const dataDir = path.join(projectDir, 'data');
  const args = ['start', '--port', '0', '--data', dataDir, '--functions', functionsDir];
  const first = await startCli(args, projectDir);
  await runWithSdk(
    first.url,
    `const c = db.collection('USERPAYLOG');
     for (let i = 0; i < 20; i++) await c.add({ data: { _id: 'log-' + i, tradeno: 'T' + i, paidAt: new Date(1700000000000 + i) } });
     await c.doc('log-3').update({ data: { paystatus: 1 } });
     await c.doc('log-4').remove();
     await db.createCollection('CREATED');`,
  );
  await killed(first.child);

  const second = await startCli(args, projectDir);
  const seen = await runWithSdk<{ count: number; log3: unknown; isDate: boolean; created: number }>(
    second.url,
    `const c = db.collection('USERPAYLOG');
     const d = (await c.doc('log-3').get()).data;
     return { count: (await c.count()).total, log3: { tradeno: d.tradeno, paystatus: d.paystatus }, isDate: d.paidAt instanceof Date,
       created: (await db.collection('CREATED').count()).total };`,
  );
  expect(seen).toEqual({
    count: 19,
    log3: { tradeno: 'T3', paystatus: 1 },
    isDate: true,
    created: 0,
  });
  await killed(second.child);

  const file = path.join(projectDir, 'export.json');
  const run = (extra: string[]): Promise<{ code: number | null; out: string }> =>
    bin.run([...extra, '--data', dataDir], projectDir);
  // The killed emulator's lock is stale: export takes it over and says so (stderr).
  expect(await run(['export', file])).toEqual({
    code: 0,
    out:
      `wxcloud-emulator: taking over the lock ${path.join(dataDir, 'database', 'LOCK')} left by pid ${second.child.pid}, which no longer runs (it was killed or crashed)\n` +
      `exported 19 documents from ${dataDir} to ${file}\n`,
  });
  const exported = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    collections: Record<string, unknown[]>;
  };
  expect(exported.collections.USERPAYLOG[0]).toEqual({
    _id: 'log-0',
    tradeno: 'T0',
    paidAt: { $date: '2023-11-14T22:13:20Z' },
  });

  const fresh = await startCli([...args, '--fresh'], projectDir);
  const empty = await runWithSdk<number>(
    fresh.url,
    `return (await db.collection('USERPAYLOG').count()).total;`,
  );
  expect(empty).toBe(0);
  await killed(fresh.child);

  expect((await run(['import', file])).code).toBe(0);
  const restored = await startCli(args, projectDir);
  const count = await runWithSdk<number>(
    restored.url,
    `return (await db.collection('USERPAYLOG').count()).total;`,
  );
  expect(count).toBe(19);
  await killed(restored.child);
});

// With several envs (--env-id a,b) the first env's data is the data dir's root and every other
// env's is under envs/<id>/ (emulator/docs/envs.md, the emulator's own layout): export and import
// take --env ID for the others.
test('export and import --env ID read and write an env after the first', async () => {
  const { projectDir, functionsDir } = makeProject();
  const dataDir = path.join(projectDir, 'data');
  const options = { functionsDir, projectDir, dataDir, port: 0, envId: 'prod-a1,test-b2' };
  const emulator = await startEmulator(options);
  await runWithSdk(
    emulator.url,
    `await db.collection('ITEMS').add({ data: { _id: 't1', n: 1 } });`,
    {
      envId: 'test-b2',
    },
  );
  await emulator.stop();

  const run = (extra: string[]): Promise<{ code: number | null; out: string }> =>
    bin.run([...extra, '--data', dataDir], projectDir);
  const testFile = path.join(projectDir, 'test-b2.json');
  expect(await run(['export', testFile, '--env', 'test-b2'])).toEqual({
    code: 0,
    out: `exported 1 documents from ${path.join(dataDir, 'envs', 'test-b2')} to ${testFile}\n`,
  });
  const rootFile = path.join(projectDir, 'root.json');
  expect((await run(['export', rootFile])).code).toBe(0);
  const itemsIn = (file: string): unknown[] =>
    (JSON.parse(fs.readFileSync(file, 'utf8')) as { collections: Record<string, unknown[]> })
      .collections.ITEMS ?? [];
  expect(itemsIn(testFile)).toEqual([{ _id: 't1', n: 1 }]);
  expect(itemsIn(rootFile)).toEqual([]);

  // Imported into the first env (no --env), the document is at the root too.
  expect((await run(['import', testFile])).code).toBe(0);
  const again = await startEmulator(options);
  try {
    const res = await fetch(`${again.url}/emulator/v1/collections/ITEMS/documents`);
    expect(((await res.json()) as { documents: unknown[] }).documents).toEqual([
      { _id: 't1', n: 1 },
    ]);
  } finally {
    await again.stop();
  }

  const missing = await run(['export', testFile, '--env', 'nope-env']);
  expect(missing.code).toBe(1);
  expect(missing.out).toContain('no data for env nope-env');

  // --fresh empties every env's database, the ones under envs/ too.
  const fresh = await startCli(
    ['start', '--port', '0', '--data', dataDir, '--functions', functionsDir, '--fresh'].concat([
      '--env-id',
      'prod-a1,test-b2',
    ]),
    projectDir,
  );
  try {
    const res = await fetch(`${fresh.url}/emulator/v1/collections/ITEMS/documents?env=test-b2`);
    expect(((await res.json()) as { documents: unknown[] }).documents).toEqual([]);
  } finally {
    await killed(fresh.child);
  }
});
