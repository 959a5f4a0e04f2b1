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
