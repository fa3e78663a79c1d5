import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import { type EndedStatus, type RecoveryDeps, recoverExecution } from '../shared/recovery.ts';
import { checkWaits, resumeWait } from '../shared/waits.ts';
import type { Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'ecs' | 'rds' | 'elbv2' | 'cloudwatch' | 'sfn' | 'now'> &
  RecoveryDeps;

/**
 * ECS and RDS events are best effort: periodically re-check every pending wait with batched
 * Describe calls and resume what is done, so a lost event costs one period, not the wait's timeout.
 */
export const run = async (deps: Deps): Promise<Output> => {
  const waits = await deps.store.allPendingWaits();
  // Waits first (a failed bake puts traffic back from here), then the locks of ended executions.
  if (waits.length === 0) return { checked: 0, resumed: 0, recovered: await recoverOrphanedLocks(deps) };
  // A throttled batch waits for the next round; the others are still checked now.
  const checks = await checkWaits(waits, deps, {
    onTransientError: (what, error) =>
      logger.warn('reconciler skipped a batch', { what, error: (error as Error).message }),
  });
  let resumed = 0;
  for (const wait of waits) {
    const check = checks.get(wait.waitId);
    if (check && (await resumeWait(wait, check, deps))) resumed++;
  }
  return { checked: waits.length, resumed, recovered: await recoverOrphanedLocks(deps) };
};

/**
 * A lock whose owner's execution no longer runs (stopped, timed out, failed, its status event
 * lost) is recovered here: traffic back on a healthy colour, a true outcome, the lock freed.
 */
const recoverOrphanedLocks = async (deps: Deps): Promise<number> => {
  let recovered = 0;
  for (const lock of await deps.store.allLocks()) {
    try {
      const status = await executionStatus(deps, lock.ownerExecutionArn);
      if (status === 'RUNNING') continue;
      // DescribeExecution is eventually consistent: an owner it does not know yet may have just started.
      const ageMs = deps.now().getTime() - Date.parse(lock.acquiredAt);
      if (status === 'UNKNOWN' && ageMs < UNKNOWN_OWNER_GRACE_MS) continue;
      const result = await recoverExecution(lock.owner, status === 'UNKNOWN' ? 'FAILED' : status, deps);
      logger.info('recovered an ended execution', { releaseId: lock.owner, status, detail: result.detail });
      recovered++;
    } catch (error) {
      // One target's trouble must not stop the others' waits from being checked.
      logger.warn('could not recover a lock owner', {
        releaseId: lock.owner,
        error: (error as Error).message,
      });
    }
  }
  return recovered;
};

/** How long a lock's owner may be unknown to DescribeExecution before it counts as gone. */
const UNKNOWN_OWNER_GRACE_MS = 5 * 60_000;

const executionStatus = async (
  deps: Deps,
  executionArn: string,
): Promise<EndedStatus | 'RUNNING' | 'SUCCEEDED' | 'UNKNOWN'> => {
  try {
    const out = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return (out.status ?? 'FAILED') as EndedStatus | 'RUNNING' | 'SUCCEEDED';
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return 'UNKNOWN';
    throw error;
  }
};
