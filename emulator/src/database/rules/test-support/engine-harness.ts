import { EmulatorError } from '../../../errors';
import { EventLog } from '../../../events';
import type { DeclaredCollection } from '../../declarations';
import { RulesEngine } from '../index';

/** Two simulated users and the owner-only rule the rules tests share. */
export const ALICE = 'o_alice';
export const BOB = 'o_bob';
export const OWNER = 'doc._openid == auth.openid';

/**
 * A rules engine over the given collections (each named `C` unless it says otherwise), with the
 * `database.denied` events it logged, for the in-process rules tests.
 */
export function engine(collections: Partial<DeclaredCollection>[]) {
  const events = new EventLog(() => 1000);
  const rules = new RulesEngine(events, () => 1000);
  rules.load(
    collections.map((c) => ({
      name: 'C',
      file: `database/${c.name ?? 'C'}.json`,
      indexes: [],
      ...c,
    })),
  );
  const denials = () =>
    events
      .since(0)
      .filter((e) => e.type === 'database.denied')
      .map((e) => e.data);
  return { rules, denials };
}

/** The message of the DATABASE_PERMISSION_DENIED that `run` throws; fails the test otherwise. */
export function deniedBy(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(EmulatorError);
    expect((err as EmulatorError).code).toBe('DATABASE_PERMISSION_DENIED');
    return (err as Error).message;
  }
  throw new Error('expected DATABASE_PERMISSION_DENIED');
}
