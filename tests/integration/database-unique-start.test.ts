import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../../emulator/src/emulator';
import { makeProject } from './database-helpers';

/**
 * A unique index newly declared in database/<C>.json over stored documents that already share a
 * key stops the start, naming the duplicates, instead of starting with a collection where writes
 * fail. MongoDB refuses such a createIndex the same way (manual, "Unique Indexes").
 */
test('a start that would declare a unique index over stored duplicates is refused, naming them', async () => {
  const { projectDir, functionsDir } = makeProject({
    ORDERS: { rules: { read: true, write: true } },
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-unique-data-'));
  try {
    const first = await startEmulator({ projectDir, functionsDir, dataDir, port: 0 });
    first.services.database.store.insert('ORDERS', [
      { _id: 'o1', tradeno: 'T1' },
      { _id: 'o2', tradeno: 'T1' },
    ]);
    await first.stop();

    fs.writeFileSync(
      path.join(projectDir, 'database', 'ORDERS.json'),
      JSON.stringify({
        rules: { read: true, write: true },
        indexes: [{ name: 'tradeno_1', keys: { tradeno: 1 }, unique: true }],
      }),
    );
    await expect(startEmulator({ projectDir, functionsDir, dataDir, port: 0 })).rejects.toThrow(
      'E11000 cannot declare unique index tradeno_1 on ORDERS (database/ORDERS.json): documents already share a key: {"tradeno":"T1"} held by _id "o1", "o2"',
    );

    // Once the duplicate is gone from the declaration's way, the same data dir starts again.
    fs.writeFileSync(
      path.join(projectDir, 'database', 'ORDERS.json'),
      JSON.stringify({ rules: { read: true, write: true } }),
    );
    const again = await startEmulator({ projectDir, functionsDir, dataDir, port: 0 });
    expect(again.services.database.store.find('ORDERS', {})).toHaveLength(2);
    await again.stop();
  } finally {
    fs.rmSync(projectDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
