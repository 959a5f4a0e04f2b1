/**
 * A function instance is a worker thread inside the emulator's own process, so
 * `process.kill(process.pid, ...)` from a function would signal the whole emulator (and
 * `process.kill(process.ppid, ...)` the shell or test runner that started it). On the cloud each
 * instance is its own process and such a call only ends that instance; here we refuse it inside
 * the function with a clear error instead (knowingly differing: the instance keeps running).
 * `process.exit()` in a worker only ends the worker, and `process.abort()` is not available in
 * workers (Node's worker_threads docs), so those need no guard.
 */
export function guardProcessKill(): void {
  const realKill = process.kill.bind(process);
  const hostPid = process.pid;
  const parentPid = process.ppid;
  process.kill = function kill(pid: number, signal?: string | number): true {
    // Signal 0 only checks that the process exists: harmless. pid 0 and negative pids signal the
    // emulator's process group, which holds the emulator itself.
    const harmless = signal === 0;
    const targetsHost = pid === hostPid || pid === parentPid || Number(pid) <= 0;
    if (targetsHost && !harmless) {
      throw new Error(
        `process.kill(${String(pid)}, ${JSON.stringify(signal ?? 'SIGTERM')}) refused: a function may not signal the wxcloud-emulator process (pid ${hostPid}) or its parent (pid ${parentPid}); on the cloud it would only end this instance`,
      );
    }
    return realKill(pid, signal);
  };
}
