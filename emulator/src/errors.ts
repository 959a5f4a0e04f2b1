/**
 * One error type for everything the emulator refuses. `code` is the platform's own code where
 * one exists (e.g. DATABASE_COLLECTION_NOT_EXIST), so the real SDK maps it the way it would map
 * the cloud's answer; `status` is the HTTP status for control routes (the /admin protocol always
 * answers 200 with `{code, message}`, as the cloud does).
 */
export class EmulatorError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: 200 | 400 | 403 | 404 | 409 | 500 = 400,
  ) {
    super(message);
    this.name = 'EmulatorError';
  }
}

/** Throws an EmulatorError with `code` unless `condition` holds. */
export function assert(condition: unknown, code: string, message: string): asserts condition {
  if (!condition) throw new EmulatorError(code, message);
}

/**
 * The one error for a platform feature the emulator knowingly does not emulate (listed in
 * emulator/docs/): never a silent success or a misleading "unknown operator". The code is the
 * emulator's own (the cloud has none for this); the SDK maps it to errCode -501001.
 */
export function notEmulated(feature: string): EmulatorError {
  return new EmulatorError(
    'FEATURE_NOT_EMULATED',
    `wxcloud-emulator does not emulate ${feature}; see emulator/docs/`,
  );
}
