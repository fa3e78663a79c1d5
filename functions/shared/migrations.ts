/**
 * Never two migrations at once. A release stopped during its migration leaves it to finish (stopping
 * one half way is worse) and its recovery frees the target, so the next release must not snapshot
 * the database or start its own migration while it runs.
 * - A hook task: ECS is asked, not a record (a record written after RunTask can be missing): the hook
 *   tasks Switchyard started in the cluster (ListTasks by startedBy, which must then be its only
 *   filter; ECS lists those whose desired status is RUNNING), described to keep the target's (their
 *   group) and not this release's (the id RunHook puts in each task's environment).
 * - A Lambda function: Lambda lists no running invocation, so StartLambdaHook claims the target's
 *   migration before the invoke (store.claimLambdaMigration) and RecordLambdaHook ends the claim once
 *   the function is known to have ended; an open claim is trusted until it runs out.
 */
import { DescribeTasksCommand, type ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { EarlierHookRunning } from './errors.ts';
import { functionLogUrl, HOOK_STARTED_BY, hookGroup, RELEASE_VARIABLE } from './hooks.ts';
import { settled } from './settled.ts';
import type { LambdaMigrationClaim, Store } from './store.ts';

interface EarlierHookTask {
  arn: string;
  id: string;
  release: string;
  command: string;
  since: string;
}

/**
 * The hook tasks of other releases of `target` that have not STOPPED in `cluster`: those ECS lists
 * (desired status RUNNING), and those this release saw before (`remembered`) that are still stopping.
 * ListTasks no longer lists a task once StopTask set its desired status to STOPPED, yet its container
 * may still be exiting (SIGTERM, then SIGKILL after its stop timeout, up to 120 s on Fargate): only
 * DescribeTasks says when it has STOPPED. A listed task DescribeTasks does not know yet (MISSING: the
 * two are eventually consistent, and a task just started is the case that matters) counts as running;
 * a remembered one it no longer knows stopped over an hour ago.
 */
const listHookTasks = async (ecs: Pick<ECSClient, 'send'>, cluster: string): Promise<Set<string>> => {
  const listed = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListTasksCommand({ cluster, startedBy: HOOK_STARTED_BY, nextToken }));
    nextToken = page.nextToken;
    for (const arn of page.taskArns ?? []) listed.add(arn);
  } while (nextToken);
  return listed;
};

const earlierHookTasks = async (
  ecs: Pick<ECSClient, 'send'>,
  where: Where,
  listed: Set<string>,
  remembered: string[] = [],
): Promise<EarlierHookTask[]> => {
  const all = [...new Set([...listed, ...remembered])];
  const found: EarlierHookTask[] = [];
  for (let i = 0; i < all.length; i += 100) {
    const described = await ecs.send(
      new DescribeTasksCommand({ cluster: where.cluster, tasks: all.slice(i, i + 100) }),
    );
    for (const failure of described.failures ?? []) {
      if (!failure.arn || !listed.has(failure.arn)) continue;
      const id = failure.arn.split('/').at(-1) ?? '?';
      found.push({ arn: failure.arn, id, release: 'unknown', command: 'just started', since: 'moments ago' });
    }
    for (const task of described.tasks ?? []) {
      if (task.group !== hookGroup(where.target) || task.lastStatus === 'STOPPED') continue;
      const overrides = task.overrides?.containerOverrides ?? [];
      const release = overrides
        .flatMap((o) => o.environment ?? [])
        .find((e) => e.name === RELEASE_VARIABLE)?.value;
      if (release === where.releaseId) continue;
      found.push({
        arn: task.taskArn ?? '?',
        id: task.taskArn?.split('/').at(-1) ?? '?',
        release: release ?? 'unknown',
        command: overrides.find((o) => o.command?.length)?.command?.join(' ') ?? '',
        since: task.createdAt ? new Date(task.createdAt).toISOString() : '?',
      });
    }
  }
  return found;
};

type EarlierHooksDeps = {
  ecs: Pick<ECSClient, 'send'>;
  store: Pick<Store, 'getRelease' | 'updateRelease' | 'lambdaMigration'>;
  now: () => Date;
};
type Where = { cluster: string; target: string; releaseId: string };

/** What `readEarlierHooks` found; nothing is written or thrown until `judgeEarlierHooks`. */
export interface EarlierHooks {
  /** Another release's Lambda migration claim, open when read: the verdict, whatever ECS answered. */
  claim?: LambdaMigrationClaim;
  at: Date;
  remembered: string[];
  found: EarlierHookTask[];
}

/**
 * Reads, without writing anything, what `judgeEarlierHooks` decides on: the target's Lambda
 * migration claim, the hook tasks this release remembered and those ECS lists, side by side (one
 * after another they were 0.02 s more before a migration's RunTask). A step may start it beside its
 * other reads and judge it after them. An open claim is judged first, as when the reads ran in turn:
 * ECS failing then changes nothing.
 */
export const readEarlierHooks = async (deps: EarlierHooksDeps, where: Where): Promise<EarlierHooks> => {
  const at = deps.now();
  const [lambda, release, listed] = await Promise.allSettled([
    deps.store.lambdaMigration(where.target),
    deps.store.getRelease(where.releaseId),
    listHookTasks(deps.ecs, where.cluster),
  ]);
  const claim = settled(lambda);
  if (claim && claimOpen(claim, where.releaseId, at)) return { claim, at, remembered: [], found: [] };
  const remembered = settled(release)?.awaitedHookTasks ?? [];
  return { at, remembered, found: await earlierHookTasks(deps.ecs, where, settled(listed), remembered) };
};

/**
 * Throws EarlierHookRunning (retried each minute for an hour by the ASL) while such a task has not
 * STOPPED, remembering it in the release record so that a later try still sees it while it stops.
 */
export const judgeEarlierHooks = async (
  deps: { store: Pick<Store, 'updateRelease'> },
  where: Where,
  read: EarlierHooks,
  what: string,
): Promise<void> => {
  if (read.claim) stillRunning(read.claim, where.releaseId, read.at, what);
  const { remembered, found } = read;
  const [earlier] = found;
  if (!earlier) return;
  // Every one found is remembered: each is re-read until STOPPED, even once ECS no longer lists it.
  const awaited = [...new Set([...remembered, ...found.map((t) => t.arn)])];
  if (awaited.length > remembered.length)
    await deps.store.updateRelease(where.releaseId, { awaitedHookTasks: awaited.slice(-100) });
  throw new EarlierHookRunning(
    `${what}: a hook task of an earlier release of ${where.target} has not stopped (task ${earlier.id}, release ${earlier.release}, \`${earlier.command}\`, since ${earlier.since}), a migration left to finish when that release stopped; two migrations at once could apply a change twice. Tried again each minute for an hour. To go on sooner, let it finish or stop it (aws ecs stop-task --cluster ${where.cluster} --task ${earlier.id})`,
  );
};

/** `readEarlierHooks`, then `judgeEarlierHooks`. */
export const awaitEarlierHooks = async (deps: EarlierHooksDeps, where: Where, what: string): Promise<void> =>
  judgeEarlierHooks(deps, where, await readEarlierHooks(deps, where), what);

const claimOpen = (claim: LambdaMigrationClaim, releaseId: string, now: Date) =>
  claim.owner !== releaseId && Date.parse(claim.runsUntil) > now.getTime();

/**
 * Throws EarlierHookRunning while another release's Lambda migration may still run: its claim is
 * open until `runsUntil` (the Invoke state's retries, then Lambda's 900 s limit). A release stopped
 * while its function ran leaves the claim open, and the function runs on: Step Functions stops
 * waiting, Lambda does not.
 */
export const stillRunning = (claim: LambdaMigrationClaim, releaseId: string, now: Date, what: string) => {
  if (!claimOpen(claim, releaseId, now)) return;
  throw new EarlierHookRunning(
    `${what}: the Lambda migration of an earlier release of ${claim.target} may still be running (hook ${claim.hook}, function ${claim.functionName}, release ${claim.owner}, claimed ${claim.startedAt}, just before the invoke): that release ended before the function answered, and Lambda lets a function run on for up to 900 s, so it has surely ended by ${claim.runsUntil}; two migrations at once could apply a change twice. Tried again each minute for an hour. Lambda cannot stop an invocation: see whether it ended in its log (${functionLogUrl(claim.functionName)}); this release goes on by itself once that time has passed`,
  );
};
