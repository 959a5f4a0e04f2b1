import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Instance, locateWorker } from '../../emulator/src/functions/instance';

// A function instance's heap is bounded by the function's memory, as on the cloud: CloudBase's
// error FUNCTIONS_MEMORY_LIMIT_EXCEEDED ("云函数运行内存超限，函数使用的内存超过了配置的最大内存
// 限制"; 256 MB by default, docs.cloudbase.net/error-code/FUNCTIONS_MEMORY_LIMIT_EXCEEDED). A
// leaking function must take down its own instance, not the emulator's process. The wording after
// the code is the emulator's. The instance runs here with a 16 MB bound so the test stays small.

const instances: Instance[] = [];
afterEach(async () => {
  for (const instance of instances.splice(0)) await instance.terminate();
});

function leakyFunction(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-leak-'));
  const fn = path.join(dir, 'leaky');
  fs.mkdirSync(fn);
  fs.writeFileSync(
    path.join(fn, 'index.js'),
    `// Caches every page it ever built and never lets go, as a leaking function does.
var cache = [];
exports.main = async function () {
  for (var i = 0; ; i++) cache.push(new Array(100000).fill({ page: i }));
};
`,
  );
  return fn;
}

test('a function past its memory dies with its instance, naming the limit', async () => {
  const crashes: string[] = [];
  const instance = new Instance(
    {
      id: 'leaky-1',
      functionName: 'leaky',
      functionDir: leakyFunction(),
      fallbackNodeModules: path.resolve(__dirname, '../../node_modules'),
      clockOffset: new SharedArrayBuffer(8),
      env: { PATH: process.env.PATH ?? '' },
      memoryMb: 16,
      onLog: () => undefined,
      onIdleCrash: (_dead, why) => crashes.push(why),
    },
    locateWorker(),
  );
  instances.push(instance);
  expect(await instance.start()).toBeUndefined();
  const result = await instance.run(
    { type: 'invoke', invocationId: 'inv-1', event: {}, context: {}, env: {} },
    30_000,
  );
  expect(result).toEqual({
    kind: 'crashed',
    message: expect.stringMatching(
      /^FUNCTIONS_MEMORY_LIMIT_EXCEEDED: the function used more than its 16 MB of memory/,
    ),
  });
  expect(instance.state).toBe('dead');
  // It died busy: the invocation reports it, not the idle-crash path.
  expect(crashes).toEqual([]);
});
