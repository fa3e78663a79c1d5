import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { run as releaseLock } from '../release-lock/run.ts';
import { cancelApproval } from '../shared/approvals.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { LockHeld, Superseded, TransientError } from '../shared/errors.ts';
import { executionStatus } from '../shared/executions.ts';
import { failDisplaced } from '../shared/lock-signals.ts';
import type { LockRecord, QueueEntry } from '../shared/store.ts';
import { sendSuccess } from '../shared/task-tokens.ts';
import { IfRunning, ReleaseKind } from '../shared/vocabulary.ts';
import { resumeWait } from '../shared/waits.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'approvals' | 'sfn' | 'elbv2' | 'now'>;

/** Orders queued releases: the later push wins; ties go to the larger release id (deterministic). */
export const isNewer = (
  a: Pick<QueueEntry, 'pushedAt' | 'releaseId'>,
  b: Pick<QueueEntry, 'pushedAt' | 'releaseId'>,
) => a.pushedAt > b.pushedAt || (a.pushedAt === b.pushedAt && a.releaseId > b.releaseId);

const MAX_ATTEMPTS = 6;

/**
 * Takes the target's lock and resumes the execution at once, or queues behind the holder. The
 * queue has one slot: a newer push replaces (supersedes) an older queued one, an older push is
 * itself superseded. A rollback takes the slot from any queued release and is never displaced by
 * one; a second rollback is refused. A rollback with `ifRunning: abort` also asks the holding
 * release to stop. The holder's ReleaseLock step hands the lock to the queued entry.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const rollback = input.kind === ReleaseKind.Rollback;
  await deps.store.createRelease({
    releaseId: input.releaseId,
    kind: input.kind,
    target: target.name,
    environment: target.environment,
    ...(input.image ? { image: input.image } : {}),
    ...(input.request?.attempt && input.request.attempt > 1 ? { attempt: input.request.attempt } : {}),
    ...(input.request?.retryOf ? { retryOf: input.request.retryOf } : {}),
    ...(input.reason ? { reason: input.reason } : {}),
    ...(rollback && input.request?.force ? { force: true } : {}),
    trigger: input.trigger,
    executionArn: input.executionArn,
  });
  const me: QueueEntry = {
    releaseId: input.releaseId,
    kind: input.kind,
    executionArn: input.executionArn,
    taskToken: input.taskToken,
    pushedAt: input.trigger.at,
  };

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await deps.store.tryAcquire(target.name, input.releaseId, input.executionArn)) {
      await deps.store.updateRelease(input.releaseId, { status: 'Running' });
      await sendSuccess(deps.sfn, input.taskToken, { acquiredAt: deps.now().toISOString() });
      return { state: 'acquired' };
    }
    const lock = await deps.store.getLock(target.name);
    if (!lock) continue; // freed between the two calls
    if (lock.owner === input.releaseId) {
      // A retry after this very call took the lock: resume as the holder.
      await sendSuccess(deps.sfn, input.taskToken, { acquiredAt: lock.acquiredAt });
      return { state: 'acquired' };
    }

    // A displaced release whose failure was never sent (a run of this step died after queueing).
    if (lock.displaced) await failDisplaced(lock, deps);

    if (lock.leaseExpiresAt < deps.now().toISOString() && (await ownerIsGone(deps, lock.ownerExecutionArn))) {
      await takeOverFromGoneOwner(lock, me, rollback, deps);
      continue;
    }

    const holder = await deps.store.getRelease(lock.owner);
    if (rollback && holder?.kind === ReleaseKind.Rollback) {
      throw new LockHeld(
        `lock of ${target.name} held by rollback ${lock.owner} (execution ${lock.ownerExecutionArn}); let it finish`,
      );
    }
    const queued = lock.queued;
    if (queued && queued.releaseId !== me.releaseId) {
      if (queued.kind === ReleaseKind.Rollback) {
        throw new LockHeld(
          rollback
            ? `rollback ${queued.releaseId} is already queued for ${target.name}`
            : `rollback ${queued.releaseId} is queued for ${target.name}; push again after it`,
        );
      }
      if (!rollback && isNewer(queued, me)) {
        throw new Superseded(`superseded by ${queued.releaseId}, a newer image queued for ${target.name}`);
      }
    }
    const displaced =
      queued && queued.releaseId !== me.releaseId
        ? {
            releaseId: queued.releaseId,
            taskToken: queued.taskToken,
            error: 'Superseded',
            cause: rollback
              ? `superseded by rollback ${me.releaseId}`
              : `superseded by ${me.releaseId} (${input.image?.tag ?? '?'})`,
          }
        : undefined;
    // The displaced release's failure is written with the slot, so it is sent even if this run dies.
    if (await deps.store.enqueue(target.name, lock.owner, me, queued?.releaseId, displaced)) {
      if (displaced) await failDisplaced({ ...lock, displaced }, deps);
      await deps.store.updateRelease(input.releaseId, { status: 'Queued' });
      const abort = rollback && input.ifRunning === IfRunning.Abort;
      if (abort) await requestAbort(lock.owner, input, deps);
      return { state: 'queued', behind: lock.owner, ...(abort ? { abortRequested: true } : {}) };
    }
  }
  throw new TransientError(`lock for ${target.name} kept changing; gave up after ${MAX_ATTEMPTS} attempts`);
};

/**
 * Stops the running release, whatever it is doing, so the rollback never waits behind it. First
 * marks its record (a wait it registers later fails at once; ShiftTraffic refuses to move weights).
 * Where it is parked, it is woken with RollbackRequested and takes its own way out: a pending wait
 * fails (Prepare → clean-up, Aborted; a bake → one verified weight change back, RolledBack), a
 * pending approval is cancelled so no later click can approve it (→ clean-up, Aborted). Where it is
 * not parked (validating, checking health, shifting, frozen...), its execution is stopped, and the
 * recovery (recover-execution, or the reconciler) puts traffic on the healthy colour, records the
 * outcome and hands the lock to this rollback.
 */
const requestAbort = async (holderId: string, input: Input, deps: Deps) => {
  const cause = `rollback ${input.releaseId} requested${input.trigger.by ? ` by ${input.trigger.by}` : ''}${input.reason ? `: ${input.reason}` : ''}`;
  await deps.store.updateRelease(holderId, { abortRequestedBy: input.releaseId });
  let woken = 0;
  const waits = (await deps.store.allPendingWaits()).filter((w) => w.releaseId === holderId);
  // A release already on its way back (its group's RollBackGroup waiting for a colour) is doing what
  // this rollback asks: failing that wait would leave the group half put back. It ends soon and
  // hands the lock over.
  if (waits.some((w) => w.condition.label === 'rollback')) return;
  for (const wait of waits) {
    // Only a task that heard it is woken: one already closed (a bake whose timeout fired) has moved on.
    if (
      (await resumeWait(wait, { state: 'failed', error: 'RollbackRequested', cause }, deps)) === 'delivered'
    )
      woken++;
  }
  const holder = await deps.store.getRelease(holderId);
  if (!holder || holder.outcome) return;
  // Traffic already put back: it is rolling back (its group's way back, between waits). Stopping
  // its execution now would cut that short; it ends soon and hands the lock over.
  if (holder.trafficRestoredAt && (holder.members?.length ?? 0) > 0) return;
  if (holder.approvalId && (await cancelApproval(holder.approvalId, cause, deps))) woken++;
  if (woken > 0) return;
  await deps.sfn.send(
    new StopExecutionCommand({
      executionArn: holder.executionArn,
      error: 'RollbackRequested',
      cause: cause.slice(0, 32_000),
    }),
  );
};

/**
 * The lock's owner ended without freeing it (its lease ran out and Step Functions says it is not
 * running; normally the reconciler recovers such a target long before). Its queue entry is settled
 * as a hand-over would have: a queued rollback, or a newer queued release, goes first (the lock is
 * handed to it on the dead owner's behalf, and this release queues behind it as usual); an older
 * queued release is superseded by this one, which takes the lock.
 */
const takeOverFromGoneOwner = async (lock: LockRecord, me: QueueEntry, rollback: boolean, deps: Deps) => {
  const queued = lock.queued && lock.queued.releaseId !== me.releaseId ? lock.queued : undefined;
  if (queued && (queued.kind === ReleaseKind.Rollback || (!rollback && isNewer(queued, me)))) {
    await releaseLock({ releaseId: lock.owner, target: lock.target }, deps);
    return;
  }
  const displaced = queued && {
    releaseId: queued.releaseId,
    taskToken: queued.taskToken,
    error: 'Superseded',
    cause: `superseded by ${me.releaseId}, which took over the lock of ${lock.owner} (its execution had ended)`,
  };
  if (await deps.store.steal(lock.target, lock.owner, me, displaced)) {
    if (displaced) await failDisplaced({ ...lock, displaced }, deps);
  }
};

const ownerIsGone = async (deps: Deps, executionArn: string): Promise<boolean> =>
  (await executionStatus(deps.sfn, executionArn)) !== 'RUNNING';
