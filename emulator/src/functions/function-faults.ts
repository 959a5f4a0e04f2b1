import { EmulatorError } from '../errors';
import { NAME_PATTERN } from './function-config';
import type { FunctionFault } from './types';

/**
 * Injected function failures (`POST /emulator/v1/faults` `functions`, `injectFaults`): the next
 * `count` calls of a function fail with the given mode. The emulator's own testing aid; the
 * platform has no such switch.
 */
export class FunctionFaults {
  private readonly pending = new Map<string, { mode: FunctionFault['mode']; remaining: number }>();

  /** Checks every rule first, so a bad one leaves the pending rules as they were. */
  apply(spec: unknown): void {
    const list = Array.isArray(spec) ? spec : [spec];
    const parsed = list.map((item, i) => {
      const where = Array.isArray(spec) ? `functions[${i}]` : 'functions';
      if (!item || typeof item !== 'object' || Array.isArray(item)) {
        throw new EmulatorError(
          'INVALID_PARAM',
          `${where} must be an object like {"name": "userpaynotify", "mode": "throw", "count": 1}`,
        );
      }
      const { name, mode, count = 1 } = item as Record<string, unknown>;
      if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
        throw new EmulatorError('INVALID_PARAM', `${where}.name must be a function name`);
      }
      if (mode !== 'throw' && mode !== 'timeout') {
        throw new EmulatorError(
          'INVALID_PARAM',
          `${where}.mode must be "throw" or "timeout", got ${JSON.stringify(mode)}`,
        );
      }
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10000) {
        throw new EmulatorError(
          'INVALID_PARAM',
          `${where}.count must be an integer from 1 to 10000, got ${JSON.stringify(count)}`,
        );
      }
      return { name, mode: mode as FunctionFault['mode'], count };
    });
    for (const fault of parsed) {
      this.pending.set(fault.name, { mode: fault.mode, remaining: fault.count });
    }
  }

  /** The mode this call of `name` fails with, using up one of its count; undefined to run it. */
  take(name: string): FunctionFault['mode'] | undefined {
    const fault = this.pending.get(name);
    if (!fault) return undefined;
    if (--fault.remaining <= 0) this.pending.delete(name);
    return fault.mode;
  }

  clear(): void {
    this.pending.clear();
  }
}
