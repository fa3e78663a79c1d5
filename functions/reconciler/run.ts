import { deliverOwedDecision } from '../shared/approvals.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { executionStatus, runningExecutions, stateMachineOf } from '../shared/executions.ts';
import { type KeepWarmDeps, reconcilerWarmUps, type WarmAlwaysDeps } from '../shared/keep-warm.ts';
import { deliverLockSignals } from '../shared/lock-signals.ts';
import { logger } from '../shared/logger.ts';
import { type RecoveryDeps, recoverExecution } from '../shared/recovery.ts';
import { judgeSoaks } from '../shared/soak.ts';
import { checkWaits, resumeWait } from '../shared/waits.ts';
import type { Output } from './schema.ts';

type Deps = Pick<
  ReleaseDeps,
  'store' | 'ecs' | 'rds' | 'elbv2' | 'cloudwatch' | 'sfn' | 'now' | 'approvals' | 'targets'
> &
  RecoveryDeps &
  Parameters<typeof judgeSoaks>[0] &
  KeepWarmDeps &
  WarmAlwaysDeps;

/**
 * ECS and RDS events are best effort: periodically re-check every pending wait with batched
 * Describe calls and resume what is done, so a lost event costs one period, not the wait's timeout.
 */
export const run = async (deps: Deps): Promise<Output> => {
  // Waits first (a failed bake puts traffic back from here), then the locks of ended executions,
  // last the soaks (a soak's verdict is the least urgent thing a tick does).
  const waits = await deps.store.allPendingWaits();
  let checks = { checked: waits.length, resumed: 0 };
  let failed: { error: unknown } | undefined;
  try {
    checks = await resumeWaits(waits, deps);
  } catch (error) {
    // Thrown after the warm-ups below: a failed check must not cost the tick its warm-ups.
    failed = { error };
  }
  // While releases wait, the steps that follow their waits are kept warm (keep-warm.ts): the
  // per-member steps as many times as the largest group among the locked targets runs members. Not
  // on a tick that resumed a wait: the steps after it run now, on the environments the last tick
  // warmed, and a warm-up landing then (Lambda's queue delays it a moment) would hold one of them,
  // so the step started cold (found in the hooks release's trace: ShiftTraffic, after a hook the
  // tick found finished). The next tick warms again, well inside an idle environment's life.
  // A release's first functions are warmed between releases too (every fourth minute), so that a
  // push finds them started.
  const warmed =
    checks.resumed > 0
      ? 0
      : await reconcilerWarmUps(
          deps,
          waits.length > 0 ? { largestGroup: await largestGroupLocked(deps) } : undefined,
        );
  if (failed) throw failed.error;
  const recovered = await recoverOrphanedLocks(deps);
  return { ...checks, recovered, soaksJudged: await judgeSoaks(deps), warmed };
};

/** The most members of any locked target's group; unread, the most any target has (over-warming is harmless). */
const largestGroupLocked = async (deps: Deps): Promise<number> => {
  const sizeOf = (name: string) => deps.targets.targets.find((t) => t.name === name)?.group.length ?? 0;
  try {
    return Math.max(0, ...(await deps.store.allLocks()).map((l) => sizeOf(l.target)));
  } catch (error) {
    logger.warn('warm-ups sized for the largest group: the locks could not be read', {
      error: (error as Error).message,
    });
    return Math.max(0, ...deps.targets.targets.map((t) => t.group.length));
  }
};

const resumeWaits = async (
  waits: Awaited<ReturnType<Deps['store']['allPendingWaits']>>,
  deps: Deps,
): Promise<{ checked: number; resumed: number }> => {
  if (waits.length === 0) return { checked: 0, resumed: 0 };
  // A throttled batch waits for the next round; the others are still checked now.
  const checks = await checkWaits(waits, deps, {
    analysis: true,
    onTransientError: (what, error) =>
      logger.warn('reconciler skipped a batch', { what, error: (error as Error).message }),
  });
  let resumed = 0;
  for (const wait of waits) {
    const check = checks.get(wait.waitId);
    if (check && (await resumeWait(wait, check, deps))) resumed++;
  }
  return { checked: waits.length, resumed };
};

/**
 * A lock whose owner's execution no longer runs (stopped, timed out, failed, its status event
 * lost) is recovered here: traffic back on a healthy colour, a true outcome, the lock freed.
 */
const recoverOrphanedLocks = async (deps: Deps): Promise<number> => {
  let recovered = 0;
  const locks = await deps.store.allLocks();
  const listed = await listedRunning(
    locks.map((l) => l.ownerExecutionArn),
    deps,
  );
  for (const lock of locks) {
    try {
      // Answers the lock owes first: a resume or a Superseded that a crashed step never sent.
      await deliverLockSignals(lock, deps);
      // Listed as running: so it is (or was a moment ago: the next tick looks again). Not listed:
      // ended, or started too recently to be listed; DescribeExecution tells which.
      const status = listed?.has(lock.ownerExecutionArn)
        ? 'RUNNING'
        : await executionStatus(deps.sfn, lock.ownerExecutionArn);
      if (status === 'RUNNING') {
        await deliverOwed(lock.target, lock.owner, deps);
        continue;
      }
      // DescribeExecution is eventually consistent: an owner it does not know yet may have just started.
      const ageMs = deps.now().getTime() - Date.parse(lock.acquiredAt);
      if (status === 'UNKNOWN' && ageMs < UNKNOWN_OWNER_GRACE_MS) continue;
      const result = await recoverExecution(
        lock.owner,
        status === 'UNKNOWN' || status === 'PENDING_REDRIVE' ? 'FAILED' : status,
        deps,
      );
      // Waiting (a step still changing a service, the safe colour not whole yet): not recovered yet.
      const done = !result.waiting;
      logger.info(done ? 'recovered an ended execution' : 'recovering an ended execution', {
        releaseId: lock.owner,
        status,
        detail: result.detail,
      });
      if (done) recovered++;
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

/**
 * With many locks, the owners Step Functions lists as running: a ListExecutions page per state
 * machine instead of a DescribeExecution per lock. A platform-wide rebuild holds a lock per
 * target, and DescribeExecution's bucket refills at 15 calls a second (limits.html): a thousand
 * locks described every minute would be throttled. With few locks each owner is described as
 * before (undefined); the owners of a state machine that could not be listed are described too.
 */
const listedRunning = async (owners: string[], deps: Deps): Promise<Set<string> | undefined> => {
  if (owners.length < LIST_FROM_LOCKS) return undefined;
  const running = new Set<string>();
  for (const machine of new Set(owners.map(stateMachineOf).filter((m) => m !== undefined))) {
    try {
      for (const arn of await runningExecutions(deps.sfn, machine)) running.add(arn);
    } catch (error) {
      // One machine's trouble (throttled past the SDK's retries, not granted) costs only its own owners a describe.
      logger.warn("could not list a state machine's running executions; describing its lock owners", {
        stateMachineArn: machine,
        error: (error as Error).message,
      });
    }
  }
  return running;
};

/**
 * From how many locks on the owners are listed. Below it a tick describes each owner as before: a
 * few calls either way, and ListExecutions' bucket refills at a third of DescribeExecution's rate.
 */
export const LIST_FROM_LOCKS = 10;

/** A running release's decision that was recorded but never reached Step Functions (approvals.ts). */
const deliverOwed = async (targetName: string, releaseId: string, deps: Deps) => {
  // Only targets that ask for approval have one: no read for the others.
  if (!deps.targets.targets.find((t) => t.name === targetName)?.approval?.required) return;
  const result = await deliverOwedDecision(releaseId, deps);
  if (result) logger.info('delivered a recorded decision', { releaseId, state: result.state });
};

/** How long a lock's owner may be unknown to DescribeExecution before it counts as gone. */
const UNKNOWN_OWNER_GRACE_MS = 5 * 60_000;
