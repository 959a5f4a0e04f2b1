import type { EmulatorContext, EmulatorService } from '../service';

// Placeholder until the database service lands: it answers no action.
export class DatabaseService implements EmulatorService {
  readonly name = 'database' as const;
  readonly actions = {};
  constructor(readonly ctx: EmulatorContext) {}
  async start(): Promise<void> {}
  async reset(): Promise<void> {}
  async stop(): Promise<void> {}
}
