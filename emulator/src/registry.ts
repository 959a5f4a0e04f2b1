import { DatabaseService } from './database';
import { collectGarbage } from './memory';
import { FunctionsService } from './functions';
import { PayService } from './pay';
import { StorageService } from './storage';
import type { EmulatorContext, EmulatorService } from './service';

/** Every emulated service by name; adding one here is what makes it start, stop and reset. */
export interface Services {
  database: DatabaseService;
  functions: FunctionsService;
  pay: PayService;
  storage: StorageService;
}

/** Start order; stop runs in reverse (pay stops calling functions before functions stop). */
export const SERVICE_ORDER: readonly (keyof Services)[] = [
  'database',
  'storage',
  'functions',
  'pay',
];

export function createServices(ctx: EmulatorContext): Services {
  const services: Services = {
    database: new DatabaseService(ctx),
    functions: new FunctionsService(ctx),
    pay: new PayService(ctx),
    storage: new StorageService(ctx),
  };
  ctx.services = services;
  return services;
}

export function orderedServices(services: Services): EmulatorService[] {
  return SERVICE_ORDER.map((name) => services[name]);
}

/**
 * A reset that lets go of at least this many records (documents and pay orders) also collects the
 * garbage they leave, on the main thread and in every function instance (memory.ts says why).
 * Below it the heap they held is small and a full collection would cost more than it returns
 * (tests reset between cases, with the test runner's own heap to walk each time).
 */
export const RESET_COLLECT_RECORDS = 1000;

/** POST /emulator/v1/reset and the JS API's reset(): one definition of what reset means. */
export async function resetEmulator(ctx: EmulatorContext): Promise<void> {
  const services = orderedServices(ctx.services);
  const held = services.reduce((n, service) => n + (service.storedRecords?.() ?? 0), 0);
  ctx.clock.resetToRealTime();
  for (const service of services) await service.reset();
  ctx.events.clear();
  ctx.events.emit('emulator.reset', {});
  if (held >= RESET_COLLECT_RECORDS) {
    collectGarbage();
    // The instances collect on their own threads; the reset does not wait for a busy one.
    void ctx.services.functions.instanceHeaps(true);
  }
}

/**
 * `POST /emulator/v1/reset?env=ID`: empties that env's data only (its documents and files, then
 * its seed); payments, faults, events and the clock stay, as they are not kept per env.
 */
export function resetEnv(ctx: EmulatorContext, env: string): void {
  for (const service of orderedServices(ctx.services)) service.resetEnv?.(env);
  ctx.events.emit('emulator.reset', { env });
}
