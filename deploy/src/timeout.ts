// Every network step runs under a deadline: miniprogram-ci has no timeout of its own and a
// stalled connection would hang the deploy forever. A timed-out call cannot be cancelled inside
// miniprogram-ci, so the CLI exits after reporting it rather than waiting for the orphan.

export class TimeoutError extends Error {
  constructor(
    readonly step: string,
    readonly ms: number,
  ) {
    super(`${step} did not finish within ${Math.round(ms / 1000)} s (timed out)`);
    this.name = 'TimeoutError';
  }
}

/**
 * Runs `work` and rejects with a TimeoutError naming `step` if it has not settled after `ms`.
 * The signal is aborted on timeout, for work that can be cancelled (fetch).
 */
export function withTimeout<T>(
  step: string,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort();
      reject(new TimeoutError(step, ms));
    }, ms);
    let started: Promise<T>;
    try {
      started = work(controller.signal);
    } catch (err) {
      clearTimeout(timer);
      reject(err);
      return;
    }
    started.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
