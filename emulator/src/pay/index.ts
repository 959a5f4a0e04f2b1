import type { EmulatorContext, EmulatorService } from '../service';

// Placeholder until the pay service lands: it answers no action.
export class PayService implements EmulatorService {
  readonly name = 'pay' as const;
  readonly actions = {};
  constructor(readonly ctx: EmulatorContext) {}
  async start(): Promise<void> {}
  async reset(): Promise<void> {}
  async stop(): Promise<void> {}
}
