import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { RollbackRequested } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import { LAMBDA_HOOK_START_SECONDS, LAMBDA_MAX_SECONDS } from '../shared/hooks.ts';
import { awaitEarlierHooks, stillRunning } from '../shared/migrations.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'now'>;

/**
 * Before the state machine invokes a Lambda hook, as RunHook before a task: a release a rollback
 * asked to stop invokes nothing; a migration is recorded before it can change the schema (never
 * downgrading a breaking one), so a rollback or a recovery that comes while the function runs, or
 * after an invocation that never returned, knows the old version may face the new schema.
 *
 * A migration also waits for any earlier release's migration still running (an ECS task, or a
 * Lambda function its stopped release left running), then claims the target's Lambda migration
 * until Lambda would have ended it: never two migrations at once (shared/migrations.ts).
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { hook } = input;
  const release = await deps.store.getRelease(input.releaseId);
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; hook ${hook.name} not invoked`);
  if (hook.migration) {
    const what = `hook ${hook.name} is a migration and was not invoked`;
    const where = {
      cluster: findTarget(deps.targets, input.target).ecs.cluster,
      target: input.target,
      releaseId: input.releaseId,
    };
    await awaitEarlierHooks(deps, where, what);
    const at = deps.now();
    const held = await deps.store.claimLambdaMigration({
      target: input.target,
      owner: input.releaseId,
      hook: hook.name,
      functionName: hook.functionName,
      startedAt: at.toISOString(),
      // The function may start after the Invoke state's retries, then run Lambda's 900 s.
      runsUntil: new Date(
        at.getTime() + (LAMBDA_HOOK_START_SECONDS + LAMBDA_MAX_SECONDS) * 1000,
      ).toISOString(),
    });
    // Another release claimed it since the check above: wait for that one too.
    if (held) stillRunning(held, input.releaseId, deps.now(), what);
    // A stop or rollback that came while this step ran: nothing will be invoked, so nothing may hold
    // the next release back (the fence, as RunHook's after RunTask).
    const halted = haltReason(await deps.store.getRelease(input.releaseId));
    if (halted) {
      await deps.store.endLambdaMigration(input.target, input.releaseId);
      throw new RollbackRequested(`${halted}; hook ${hook.name} not invoked`);
    }
    if (release?.migrated !== 'breaking')
      await deps.store.updateRelease(input.releaseId, { migrated: hook.migration.compatibility });
  }
  return {
    at: deps.now().toISOString(),
    summary: `hook ${hook.name}: invoking Lambda function ${hook.functionName}${hook.migration ? ` (${hook.migration.compatibility} migration, recorded)` : ''}`,
  };
};
