// Suites start several things at once (an emulator, a browser); when one fails to start, the
// others must still be stopped, or jest never exits (an emulator left listening holds it open).

/**
 * Waits for every start to settle, then throws the first failure. Unlike `Promise.all`, which
 * rejects at the first failure while the other starts are still running, nothing is left
 * starting when this returns: each start assigns what it started (for `afterAll` to stop) in its
 * own `.then`, so everything that did start is stopped even when `beforeAll` fails.
 */
export async function startAll(starts: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
