import fs from 'node:fs';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { exportDataDirToFile } from '../../emulator/src/database/portable';
import { makeProject } from './database-helpers';

// Export never builds the file as one string (issue 15: a database past V8's longest string
// could not be exported): the control route streams it and the CLI writes it a document at a
// time, both from a snapshot taken when the export starts. The format is the emulator's own
// (emulator/docs/database.md, "Persistence, export, import").

const started: RunningEmulator[] = [];
afterEach(async () => {
  for (const emu of started.splice(0)) await emu.stop();
});

const body = 'x'.repeat(2000);

test('GET /database/export streams in chunks, and is the database as it was when the export began', async () => {
  const { projectDir, functionsDir } = makeProject();
  const emu = await startEmulator({ projectDir, functionsDir, port: 0, inMemory: true });
  started.push(emu);
  const store = emu.services.database.store;
  store.insert(
    'ITEMS',
    Array.from({ length: 600 }, (_, i) => ({ _id: `d${String(i).padStart(3, '0')}`, i, body })),
  );

  const res = await fetch(`${emu.url}/emulator/v1/database/export`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-length')).toBeNull();
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  const firstChunk = await reader.read();
  chunks.push(firstChunk.value as Uint8Array);
  // Written while the export is on the wire: not in it.
  store.update(
    'ITEMS',
    { _id: 'd000' },
    { kind: 'operators', modifier: { $set: { i: -1 } } },
    { multi: false, upsert: false },
  );
  store.insert('ITEMS', [{ _id: 'later' }]);
  store.remove('ITEMS', { _id: 'd599' }, { multi: false });
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    chunks.push(next.value);
  }
  expect(chunks.length).toBeGreaterThan(2);
  const file = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    format: string;
    collections: Record<string, { _id: string; i?: number }[]>;
  };
  expect(file.format).toBe('wxcloud-emulator-database');
  const items = file.collections.ITEMS;
  expect(items).toHaveLength(600);
  expect(items[0]).toEqual({ _id: 'd000', i: 0, body });
  expect(items.at(-1)?._id).toBe('d599');
  expect(items.some((d) => d._id === 'later')).toBe(false);
});

test('the CLI export writes one document per line, and reads back as the same documents', async () => {
  const { projectDir, functionsDir } = makeProject();
  const dataDir = path.join(projectDir, 'data');
  const emu = await startEmulator({ projectDir, functionsDir, port: 0, dataDir });
  emu.services.database.store.insert('ITEMS', [
    { _id: 'a', when: new Date(Date.UTC(2024, 0, 2)) },
    { _id: 'b', n: 2 },
  ]);
  await emu.stop();
  const file = path.join(projectDir, 'export.json');
  expect(exportDataDirToFile(dataDir, file)).toBe(2);
  const text = fs.readFileSync(file, 'utf8');
  expect(text.split('\n')).toContainEqual('{"_id":"a","when":{"$date":"2024-01-02T00:00:00Z"}},');
  expect(text.split('\n')).toContainEqual('{"_id":"b","n":2}');
  expect(
    (JSON.parse(text) as { collections: Record<string, unknown[]> }).collections.ITEMS,
  ).toEqual([
    { _id: 'a', when: { $date: '2024-01-02T00:00:00Z' } },
    { _id: 'b', n: 2 },
  ]);
});
