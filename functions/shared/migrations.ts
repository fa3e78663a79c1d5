/**
 * Never two migrations at once. A release stopped during its migration leaves the task to finish
 * (stopping one half way is worse) and its recovery frees the target, so the next release must not
 * snapshot the database or start its own migration while that task runs. ECS is asked, not a record
 * (a record written after RunTask can be missing): the hook tasks Switchyard started in the cluster
 * (ListTasks by startedBy, which must then be its only filter; ECS lists those whose desired status
 * is RUNNING), described to keep the target's (their group) and not this release's (the id RunHook
 * puts in each task's environment).
 */
import { DescribeTasksCommand, type ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { EarlierHookRunning, RollbackRequested } from './errors.ts';
import { haltReason } from './halt.ts';
import { RELEASE_VARIABLE } from './hooks.ts';
import type { Store } from './store.ts';

/** Tasks Switchyard starts say so (`startedBy`); their group names the target, which events carry. */
export const HOOK_STARTED_BY = 'switchyard';
export const hookGroup = (target: string) => `switchyard:${target}`;

export interface EarlierHookTask {
  arn: string;
  id: string;
  release: string;
  command: string;
  since: string;
}

/**
 * A hook task of another release of `target` that has not STOPPED in `cluster`: one ECS lists (desired
 * status RUNNING), or one this release saw before (`remembered`) that is still stopping. ListTasks no
 * longer lists a task once StopTask set its desired status to STOPPED, yet its container may still be
 * exiting (SIGTERM, then SIGKILL after its stop timeout, up to 120 s on Fargate): only DescribeTasks says
 * when it has STOPPED.
 */
export const earlierHookTask = async (
  ecs: Pick<ECSClient, 'send'>,
  where: { cluster: string; target: string; releaseId: string },
  remembered: string[] = [],
): Promise<EarlierHookTask | undefined> => {
  const arns = new Set(remembered);
  let nextToken: string | undefined;
  do {
    const listed = await ecs.send(
      new ListTasksCommand({ cluster: where.cluster, startedBy: HOOK_STARTED_BY, nextToken }),
    );
    nextToken = listed.nextToken;
    for (const arn of listed.taskArns ?? []) arns.add(arn);
  } while (nextToken);
  const all = [...arns];
  for (let i = 0; i < all.length; i += 100) {
    const described = await ecs.send(
      new DescribeTasksCommand({ cluster: where.cluster, tasks: all.slice(i, i + 100) }),
    );
    for (const task of described.tasks ?? []) {
      if (task.group !== hookGroup(where.target) || task.lastStatus === 'STOPPED') continue;
      const overrides = task.overrides?.containerOverrides ?? [];
      const release = overrides
        .flatMap((o) => o.environment ?? [])
        .find((e) => e.name === RELEASE_VARIABLE)?.value;
      if (release === where.releaseId) continue;
      return {
        arn: task.taskArn ?? '?',
        id: task.taskArn?.split('/').at(-1) ?? '?',
        release: release ?? 'unknown',
        command: overrides.find((o) => o.command?.length)?.command?.join(' ') ?? '',
        since: task.createdAt ? new Date(task.createdAt).toISOString() : '?',
      };
    }
  }
  return undefined;
};

/**
 * Throws EarlierHookRunning (retried each minute for an hour by the ASL) while such a task has not
 * STOPPED, remembering it in the release record so that a later try still sees it while it stops.
 */
export const awaitEarlierHooks = async (
  deps: { ecs: Pick<ECSClient, 'send'>; store: Pick<Store, 'getRelease' | 'updateRelease'> },
  where: { cluster: string; target: string; releaseId: string },
  what: string,
): Promise<void> => {
  const release = await deps.store.getRelease(where.releaseId);
  const remembered = release?.awaitedHookTasks ?? [];
  const earlier = await earlierHookTask(deps.ecs, where, remembered);
  if (!earlier) return;
  // Waiting must not hold up a rollback that asked this release to stop: it stops now.
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; ${what}`);
  if (!remembered.includes(earlier.arn))
    await deps.store.updateRelease(where.releaseId, {
      awaitedHookTasks: [...remembered, earlier.arn].slice(-20),
    });
  throw new EarlierHookRunning(
    `${what}: a hook task of an earlier release of ${where.target} has not stopped (task ${earlier.id}, release ${earlier.release}, \`${earlier.command}\`, since ${earlier.since}), a migration left to finish when that release stopped; two migrations at once could apply a change twice. Tried again each minute for an hour. To go on sooner, let it finish or stop it (aws ecs stop-task --cluster ${where.cluster} --task ${earlier.id})`,
  );
};
