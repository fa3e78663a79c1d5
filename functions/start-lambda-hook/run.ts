import type { ReleaseDeps } from '../shared/deps.ts';
import { RollbackRequested } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'now'>;

/**
 * Before the state machine invokes a Lambda hook, as RunHook before a task: a release a rollback
 * asked to stop invokes nothing; a migration is recorded before it can change the schema (never
 * downgrading a breaking one), so a rollback or a recovery that comes while the function runs, or
 * after an invocation that never returned, knows the old version may face the new schema.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { hook } = input;
  const release = await deps.store.getRelease(input.releaseId);
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; hook ${hook.name} not invoked`);
  if (hook.migration && release?.migrated !== 'breaking')
    await deps.store.updateRelease(input.releaseId, { migrated: hook.migration.compatibility });
  return {
    at: deps.now().toISOString(),
    summary: `hook ${hook.name}: invoking Lambda function ${hook.functionName}${hook.migration ? ` (${hook.migration.compatibility} migration, recorded)` : ''}`,
  };
};
