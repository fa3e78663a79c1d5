import { createHash } from 'node:crypto';
import { RunTaskCommand, type RunTaskCommandInput, StopTaskCommand } from '@aws-sdk/client-ecs';
import type { ReleaseDeps } from '../shared/deps.ts';
import { HookFailed, RollbackRequested, TransientError } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import { HOOK_STARTED_BY, hookGroup, RELEASE_VARIABLE } from '../shared/hooks.ts';
import { judgeEarlierHooks, readEarlierHooks } from '../shared/migrations.ts';
import { settled } from '../shared/settled.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'ecs' | 'now'>;

/**
 * Starts the hook's task: RunTask of the release's new revision (or the hook's named definition)
 * with the hook's command and environment, where the live service runs. Idempotent: the client
 * token is the release and hook, so a retried invocation gets the task the first one started.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { hook } = input;
  // Validate waited for an earlier release's migration before the snapshot; this catches one whose
  // RunTask landed later (a stopped release's Lambda runs on). Read beside the halt, judged after it.
  // Nothing is written for the earlier hooks before the halt is judged (a halted release's record).
  const where = { cluster: hook.cluster, target: input.target, releaseId: input.releaseId };
  const [release, earlierHooks] = await Promise.allSettled([
    deps.store.getRelease(input.releaseId),
    hook.migration ? readEarlierHooks(deps, where) : undefined,
  ]);
  const halted = haltReason(settled(release));
  if (halted) throw new RollbackRequested(`${halted}; hook ${hook.name} not started`);
  const earlier = settled(earlierHooks);
  if (earlier)
    await judgeEarlierHooks(deps, where, earlier, `hook ${hook.name} is a migration and was not started`);
  const request: RunTaskCommandInput = {
    ...(hook.launch as Partial<RunTaskCommandInput>),
    cluster: hook.cluster,
    taskDefinition: hook.taskDefinition ?? input.taskDefinitionArn,
    count: 1,
    startedBy: HOOK_STARTED_BY,
    group: hookGroup(input.target),
    clientToken: createHash('sha256').update(`${input.releaseId}/${hook.point}/${hook.name}`).digest('hex'),
    overrides: {
      containerOverrides: [
        {
          name: hook.container,
          command: hook.command,
          environment: [...hook.environment, { name: RELEASE_VARIABLE, value: input.releaseId }],
        },
      ],
    },
  };
  const out = await deps.ecs.send(new RunTaskCommand(request));
  const task = out.tasks?.[0];
  if (!task?.taskArn) {
    const failure = out.failures?.[0];
    // Capacity a moment short (RESOURCE:CPU, RESOURCE:MEMORY, AGENT…): worth another try.
    if (/^(RESOURCE:|AGENT)|capacity/i.test(failure?.reason ?? ''))
      throw new TransientError(`hook ${hook.name}: RunTask found no capacity: ${failure?.reason}`);
    throw new HookFailed(
      `hook ${hook.name} could not be started: ${failure?.reason ?? 'no task'}${failure?.detail ? ` (${failure.detail})` : ''}`,
    );
  }
  // A migration that started may have changed the schema, whatever becomes of its task: from now
  // on the record says so (never downgrading a breaking one), so no rollback assumes otherwise.
  if (hook.migration) {
    const release = await deps.store.getRelease(input.releaseId);
    if (release?.migrated !== 'breaking')
      await deps.store.updateRelease(input.releaseId, { migrated: hook.migration.compatibility });
  }
  // The fence: a rollback that asked this release to stop while RunTask was in flight. A migration
  // is left to finish (stopping one half way is worse); anything else is stopped.
  const after = haltReason(await deps.store.getRelease(input.releaseId));
  if (after) {
    if (!hook.migration) {
      await deps.ecs.send(
        new StopTaskCommand({ cluster: hook.cluster, task: task.taskArn, reason: `Switchyard: ${after}` }),
      );
    }
    throw new RollbackRequested(
      `${after}; hook ${hook.name} ${hook.migration ? 'left to finish' : 'stopped'}`,
    );
  }
  return {
    cluster: hook.cluster,
    taskArn: task.taskArn,
    startedAt: deps.now().toISOString(),
    summary: `hook ${hook.name}: started task ${task.taskArn.split('/').at(-1)} (${hook.command.join(' ')})`,
  };
};
