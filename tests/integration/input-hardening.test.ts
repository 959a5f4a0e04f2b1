// Input hardening from issue 15 item 8: bad input to the control API gets a clear error and
// nothing runs or is written.
import fs from 'node:fs';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { makeProject } from './database-helpers';

let emu: RunningEmulator;
beforeAll(async () => {
  const project = makeProject();
  // Written the way many people still write one: callback-style main, no SDK at all.
  const dir = path.join(project.functionsDir, 'hello');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'index.js'),
    "exports.main = function (event, context, callback) { callback(null, { hello: event.name || 'world' }); };\n",
  );
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "hello", "main": "index.js"}\n');
  emu = await startEmulator({ ...project, port: 0, inMemory: true });
});
afterAll(() => emu.stop());

const control = (route: string) => `${emu.url}/emulator/v1${route}`;

async function invocationsOf(name: string): Promise<unknown[]> {
  const answer = await fetch(control(`/functions/invocations?name=${name}`));
  return ((await answer.json()) as { invocations: unknown[] }).invocations;
}

describe('POST /functions/{name}/invoke with a body that is not JSON', () => {
  it.each(['{"data": {"name": "x"}', 'data=1', '{data: {}}', '[1,'])(
    '%j answers 400 naming the problem, and the function does not run',
    async (body) => {
      const before = (await invocationsOf('hello')).length;
      const answer = await fetch(control('/functions/hello/invoke'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(answer.status).toBe(400);
      const { error } = (await answer.json()) as { error: { code: string; message: string } };
      // The emulator's own wording (the control API is ours, not the cloud's).
      expect(error.code).toBe('INVALID_PARAM');
      expect(error.message).toMatch(/^invoke: the request body is not valid JSON \(.+\)/);
      expect(await invocationsOf('hello')).toHaveLength(before);
    },
  );

  it('a valid body, or none at all, still runs it', async () => {
    const withData = await fetch(control('/functions/hello/invoke'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { name: 'li' } }),
    });
    expect(await withData.json()).toEqual({ result: { hello: 'li' } });
    const empty = await fetch(control('/functions/hello/invoke'), { method: 'POST' });
    expect(await empty.json()).toEqual({ result: { hello: 'world' } });
  });
});

describe('__proto__ as a field name in a document written through the database', () => {
  // MongoDB itself would store a field named __proto__; the emulator keeps documents as JavaScript
  // objects, where assigning that key replaces the prototype and the field vanished silently. We
  // knowingly differ and refuse it, as MongoDB 4.x refuses `$`-prefixed and dotted names
  // ("... is not valid for storage."), with the same error; the wording is the emulator's.
  // (wx-server-sdk's own serializer already turns such a key into inherited fields before sending,
  // so these writes are sent on the wire the way other clients and tools can send them.)
  const wire = async (body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const answer = await fetch(`${emu.url}/admin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await answer.json()) as Record<string, unknown>;
  };
  const insert = (doc: string) =>
    wire({ action: 'database.insertDocument', collectionName: 'ITEMS', data: [doc] });
  const modify = (id: string, data: string, extra: Record<string, unknown> = {}) =>
    wire({
      action: 'database.modifyDocument',
      collectionName: 'ITEMS',
      queryType: 'DOC',
      query: JSON.stringify({ _id: id }),
      data,
      ...extra,
    });

  it('is refused in inserts, replacements and updates, naming the field, and nothing is stored', async () => {
    expect((await insert('{"_id": "kept", "n": 1}')).code).toBeUndefined();
    const answers = {
      top: await insert('{"_id": "p1", "a": 1, "__proto__": {"admin": true}}'),
      nested: await insert('{"_id": "p2", "a": {"__proto__": {"admin": true}}}'),
      inArray: await insert('{"_id": "p3", "list": [{"__proto__": {"x": 1}}]}'),
      set: await modify('p4', '{"__proto__": {"admin": true}, "b": 2}', {
        merge: false,
        upsert: true,
      }),
      update: await modify('kept', '{"n": 2, "m": {"__proto__": {"admin": true}}}'),
      path: await modify('kept', '{"$set": {"m.__proto__.admin": true}}'),
    };
    const where: Record<keyof typeof answers, string> = {
      top: '__proto__',
      nested: 'a.__proto__',
      inArray: 'list.0.__proto__',
      set: '__proto__',
      update: 'm.__proto__',
      path: 'm.__proto__.admin',
    };
    for (const [write, answer] of Object.entries(answers)) {
      expect({ write, answer }).toEqual({
        write,
        answer: expect.objectContaining({
          code: 'DATABASE_REQUEST_FAILED',
          message: expect.stringContaining(
            `The field '__proto__' in '${where[write as keyof typeof answers]}' is not valid for storage`,
          ),
        }),
      });
    }
    expect(emu.services.database.store.find('ITEMS', {})).toEqual([{ _id: 'kept', n: 1 }]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('is refused in POST /database/import too, and the import changes nothing', async () => {
    const store = emu.services.database.store;
    const before = store.find('ITEMS', {});
    const answer = await fetch(`${emu.url}/emulator/v1/database/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"format": "wxcloud-emulator-database", "version": 1, "collections": {"ITEMS": [{"_id": "i1", "x": {"__proto__": {"admin": true}}}]}}`,
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: { message: string } }).error.message).toContain(
      "The field '__proto__' in 'x.__proto__' is not valid for storage",
    );
    expect(store.find('ITEMS', {})).toEqual(before);
  });
});
