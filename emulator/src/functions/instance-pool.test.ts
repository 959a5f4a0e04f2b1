import type { Instance } from './instance';
import { DEAD_INSTANCES_KEPT, InstancePool } from './instance-pool';

// Dead instances stay findable by id so a late SDK request from one is attributed and dropped
// (functions/index.ts fromInstance); a long run that replaces instances again and again (timeouts,
// crashes, idle reclaim) must not keep every dead worker forever. The bound is the emulator's own.

function fakeInstance(id: string): Instance {
  const fake = {
    id,
    state: 'starting' as Instance['state'],
    start: async () => {
      fake.state = 'idle';
      return undefined;
    },
    terminate: async () => {
      fake.state = 'dead';
    },
  };
  return fake as unknown as Instance;
}

test('only the most recent dead instances stay findable by id', async () => {
  let seq = 0;
  const pool = new InstancePool({
    maxPerFunction: 2,
    newId: (name) => `${name}-${++seq}`,
    create: (_name, id) => fakeInstance(id),
    idleMs: 0,
    clock: { now: () => 0, schedule: () => ({ cancel: () => undefined }) },
  });
  const ids: string[] = [];
  for (let i = 0; i < DEAD_INSTANCES_KEPT + 50; i++) {
    const acquired = await pool.acquire('fn');
    if (typeof acquired === 'string') throw new Error(acquired);
    ids.push(acquired.instance.id);
    // It timed out mid-call: the runtime terminates it, then releases it.
    await acquired.instance.terminate();
    pool.release('fn', acquired.instance);
  }
  expect(DEAD_INSTANCES_KEPT).toBe(100);
  expect(ids.slice(0, 50).filter((id) => pool.get(id))).toEqual([]);
  expect(ids.slice(50).every((id) => pool.get(id)?.state === 'dead')).toBe(true);
  // A live one (busy on a long call) is never forgotten, however many die beside it.
  const live = await pool.acquire('fn');
  if (typeof live === 'string') throw new Error(live);
  for (let i = 0; i < DEAD_INSTANCES_KEPT + 10; i++) {
    const acquired = await pool.acquire('fn');
    if (typeof acquired === 'string') throw new Error(acquired);
    expect(acquired.instance).not.toBe(live.instance);
    await acquired.instance.terminate();
    pool.release('fn', acquired.instance);
  }
  expect(pool.get(live.instance.id)).toBe(live.instance);
  expect(ids.filter((id) => pool.get(id))).toEqual([]);
});
