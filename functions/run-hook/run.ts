import { createHash } from 'node:crypto';
import {
  DescribeTasksCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import type { ReleaseDeps } from '../shared/deps.ts';
import { EarlierHookRunning, HookFailed, RollbackRequested, TransientError } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'ecs' | 'now'>;

/** Tasks Switchyard starts say so (`startedBy`); their group names the target, which events carry. */
export const HOOK_STARTED_BY = 'switchyard';
export const hookGroup = (target: string) => `switchyard:${target}`;

/**
 * Starts the hook's task: RunTask of the release's new revision (or the hook's named definition)
 * with the hook's command and environment, where the live service runs. Idempotent: the client
 * token is the release and hook, so a retried invocation gets the task the first one started.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { hook } = input;
  const halted = haltReason(await deps.store.getRelease(input.releaseId));
  if (halted) throw new RollbackRequested(`${halted}; hook ${hook.name} not started`);
  if (hook.migration) {
    const earlier = await earlierMigration(input, deps);
    if (earlier)
      throw new EarlierHookRunning(
        `hook ${hook.name} is a migration, and the migration of an earlier release of ${input.target} has not stopped (task ${earlier.id}, release ${earlier.release}, started ${earlier.since}): two migrations at once could apply a change twice. Not started; tried again each minute for an hour. To go on sooner, let it finish or stop it (aws ecs stop-task --cluster ${hook.cluster} --task ${earlier.id})`,
      );
  }
  const request: RunTaskCommandInput = {
    ...(hook.launch as Partial<RunTaskCommandInput>),
    cluster: hook.cluster,
    taskDefinition: hook.taskDefinition ?? input.taskDefinitionArn,
    count: 1,
    startedBy: HOOK_STARTED_BY,
    group: hookGroup(input.target),
    clientToken: createHash('sha256').update(`${input.releaseId}/${hook.point}/${hook.name}`).digest('hex'),
    overrides: {
      containerOverrides: [{ name: hook.container, command: hook.command, environment: hook.environment }],
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
  // Its task is recorded too: the target's next migration waits for it to stop.
  if (hook.migration) {
    const release = await deps.store.getRelease(input.releaseId);
    await deps.store.updateRelease(input.releaseId, {
      migrationTaskArn: task.taskArn,
      ...(release?.migrated !== 'breaking' ? { migrated: hook.migration.compatibility } : {}),
    });
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

/** How many of the target's latest releases are looked at for a migration still running. */
const EARLIER_RELEASES = 10;

/**
 * A migration task an earlier release of this target started that has not STOPPED: one a release
 * left to finish when it stopped (a stopping one included: its container may still be exiting).
 * Each release records its migration's task when RunTask answers; ECS forgets a task an hour after it
 * stopped, so one it no longer knows has stopped.
 */
const earlierMigration = async (
  input: Input,
  deps: Deps,
): Promise<{ id: string; release: string; since: string } | undefined> => {
  const earlier = (await deps.store.releasesForTarget(input.target, EARLIER_RELEASES)).filter(
    (r) => r.releaseId !== input.releaseId && r.migrationTaskArn,
  );
  if (earlier.length === 0) return undefined;
  const described = await deps.ecs.send(
    new DescribeTasksCommand({
      cluster: input.hook.cluster,
      tasks: earlier.map((r) => r.migrationTaskArn as string),
    }),
  );
  const running = (described.tasks ?? []).find((t) => t.lastStatus !== 'STOPPED');
  if (!running) return undefined;
  return {
    id: running.taskArn?.split('/').at(-1) ?? '?',
    release: earlier.find((r) => r.migrationTaskArn === running.taskArn)?.releaseId ?? '?',
    since: running.createdAt?.toISOString() ?? '?',
  };
};
