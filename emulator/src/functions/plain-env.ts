/**
 * `process.env` as a plain object inside a function's worker. A worker's own `process.env` is a
 * native interceptor: each read costs ~0.3-0.5 µs, and wx-server-sdk reads a dozen variables on
 * every request it builds. A plain copy reads in tens of nanoseconds. The platform's variables
 * are all still there, readable, writable and deletable, and per-invocation ones are set on it
 * before each run (worker.ts). Knowingly different from Node's: a value assigned is stored as
 * given, not turned into a string (the SDK only ever assigns strings).
 */
export function usePlainEnv(): void {
  const plain: Record<string, string | undefined> = { ...process.env };
  Object.defineProperty(process, 'env', {
    value: plain,
    writable: true,
    configurable: true,
    enumerable: true,
  });
}
