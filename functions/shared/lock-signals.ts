/**
 * Delivers the task-token answers a target's lock owes: the resume of a release the lock was handed
 * to, and the failure of a release displaced from the queue slot. Each is written into the lock in
 * the same conditional write that made it owed, so a crash or a lost answer between that write and
 * the SendTask* call leaves it on the lock, and the next AcquireLock, ReleaseLock retry or reconciler
 * run sends it. Sending twice is harmless: a task already answered reports itself closed.
 */
import type { ReleaseDeps } from './deps.ts';
import { executionStatus } from './executions.ts';
import { logger } from './logger.ts';
import type { LockRecord } from './store.ts';
import { sendFailure, sendSuccess } from './task-tokens.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'sfn'>;

export interface Delivered {
  /** The displaced release's AcquireLock was failed (or had already closed). */
  displaced?: string;
  /**
   * The new owner was resumed, now or by an earlier delivery whose answer was lost (its execution
   * runs on); false when its execution is gone, so the lock is the caller's to free on its behalf.
   */
  resumed?: boolean;
}

export const deliverLockSignals = async (lock: LockRecord, deps: Deps): Promise<Delivered> => ({
  ...(await failDisplaced(lock, deps)),
  ...(await resumeOwner(lock, deps)),
});

/**
 * Fails the AcquireLock of the release displaced from the queue slot, if that is still owed. Best
 * effort: the caller's own work (queueing, handing over) must not fail because another release
 * could not be told; what is not delivered stays on the lock for the next deliverer.
 */
export const failDisplaced = async (lock: LockRecord, deps: Deps): Promise<Delivered> => {
  const { displaced } = lock;
  if (!displaced) return {};
  try {
    await sendFailure(
      deps.sfn,
      displaced.taskToken,
      displaced.error ?? 'Superseded',
      displaced.cause ?? 'superseded',
    );
    await deps.store.clearLockSignal(lock.target, 'displaced', displaced.releaseId);
    return { displaced: displaced.releaseId };
  } catch (error) {
    logger.warn('could not fail the displaced release; the reconciler will', {
      releaseId: displaced.releaseId,
      error: (error as Error).message,
    });
    return {};
  }
};

/** Resumes the AcquireLock of the release the lock was handed to, if that is still owed. */
export const resumeOwner = async (lock: LockRecord, deps: Deps): Promise<Delivered> => {
  const { resume } = lock;
  if (!resume || resume.releaseId !== lock.owner) return {};
  const sent = await sendSuccess(deps.sfn, resume.taskToken, {
    acquiredAt: lock.acquiredAt,
    ...(resume.after ? { after: resume.after } : {}),
  });
  // A closed task is either resumed already (a lost answer, or another deliverer won) or gone.
  const resumed = sent || (await executionStatus(deps.sfn, lock.ownerExecutionArn)) === 'RUNNING';
  if (resumed) await deps.store.markRunning(resume.releaseId);
  await deps.store.clearLockSignal(lock.target, 'resume', resume.releaseId);
  return { resumed };
};
