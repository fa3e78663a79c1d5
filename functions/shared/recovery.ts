/**
 * Bounded recovery: when a release or rollback execution ends without finishing its own work
 * (stopped by hand, timed out, failed outside every Catch), this puts traffic on a healthy colour,
 * scales the colour it was deploying back to 0, records a true outcome, frees (or hands over) the
 * target's lock and says so. Driven by Step Functions' `Execution Status Change` event, and by the
 * reconciler, which checks each lock's owner (events are not guaranteed), so recovery takes at most
 * one reconciler period after the event should have come.
 */
import { run as releaseLock } from '../release-lock/run.ts';
import { findTarget } from './config.ts';
import type { ReleaseDeps } from './deps.ts';
import { describeService, scaleService } from './ecs.ts';
import { logger } from './logger.ts';
import { notify } from './notifications.ts';
import { allTo, readWeights, setWeights } from './traffic.ts';
import { type Colour, Outcome, ReleaseKind } from './vocabulary.ts';

export type RecoveryDeps = Pick<
  ReleaseDeps,
  'targets' | 'store' | 'ecs' | 'elbv2' | 'sfn' | 'sns' | 'secrets' | 'now'
>;

/** What ended the execution, as Step Functions reports it. */
export type EndedStatus = 'ABORTED' | 'TIMED_OUT' | 'FAILED';

export interface Recovery {
  releaseId: string;
  /** What was done: nothing (already ended), or the outcome recorded now. */
  outcome?: Outcome;
  weights?: { blue: number; green: number };
  detail: string;
}

const errorName: Record<EndedStatus, string> = {
  ABORTED: 'ExecutionAborted',
  TIMED_OUT: 'ExecutionTimedOut',
  FAILED: 'ExecutionFailed',
};

export const recoverExecution = async (
  releaseId: string,
  status: EndedStatus,
  deps: RecoveryDeps,
): Promise<Recovery> => {
  const record = await deps.store.getRelease(releaseId);
  if (!record) return { releaseId, detail: 'no release record: nothing began' };
  if (record.outcome) {
    // It recorded its outcome; only the lock may be left (stopped between RecordOutcome and ReleaseLock).
    await releaseLock({ releaseId, target: record.target }, deps);
    return { releaseId, detail: `already ended ${record.outcome}` };
  }
  const target = findTarget(deps.targets, record.target);
  const rollback = record.kind === ReleaseKind.Rollback;
  // The colour that must carry traffic: for a release, the one live before it (it never finished);
  // for a rollback, the one it was putting back, but only to finish a split it left.
  const safe: Colour | undefined = rollback ? record.toColour : record.fromColour;
  const other: Colour | undefined = safe === 'blue' ? 'green' : safe === 'green' ? 'blue' : undefined;
  const state = await readWeights(deps.elbv2, target.traffic);
  let weights = state.weights;
  const notes: string[] = [];
  let outcome: Outcome = Outcome.Aborted;
  const split = weights.blue > 0 && weights.green > 0;
  if (safe && other) {
    if (rollback ? split : weights[other] > 0 || weights[safe] === 0) {
      const service = await describeService(deps.ecs, target.ecs.cluster, target.ecs.services[safe]);
      if ((service.runningCount ?? 0) > 0) {
        weights = (await setWeights(deps.elbv2, target.traffic, allTo(safe), state)).weights;
        notes.push(`traffic put back on ${safe} (verified)`);
        outcome = Outcome.RolledBack;
      } else {
        notes.push(`${safe} runs no task: traffic left at blue ${weights.blue} / green ${weights.green}`);
        outcome = Outcome.RollbackFailed;
      }
    } else if ((record.trafficPercent ?? 0) > 0) {
      // Traffic had moved and is back already (e.g. a bake's fast rollback before the stop).
      outcome = Outcome.RolledBack;
    }
    // The colour it was deploying goes back to 0 once it carries nothing.
    if (weights[other] === 0 && !rollback && record.toColour === other) {
      await scaleService(deps.ecs, target.ecs.cluster, target.ecs.services[other], 0);
      notes.push(`${other} scaled to 0`);
    }
  } else {
    notes.push('it had not planned its colours yet: nothing was deployed');
  }
  const cause = `the execution ended ${status} before it finished; ${notes.join('; ')}`;
  await deps.store.updateRelease(releaseId, {
    status: outcome,
    outcome,
    endedAt: deps.now().toISOString(),
    error: { Error: errorName[status], Cause: cause },
  });
  logger.info('release outcome', { outcome, target: target.name, recovered: true });
  await releaseLock({ releaseId, target: target.name }, deps);
  // A channel that fails never fails the recovery (notify logs and counts it).
  await notify(deps, target, {
    releaseId,
    event: outcome,
    subject: `[switchyard] ${target.name} (${target.environment}) ${record.image?.tag ?? record.kind ?? 'release'}: ${outcome}`,
    lines: [
      `${rollback ? 'Rollback' : 'Release'} ${releaseId} of ${target.name} (${target.environment}) ended ${outcome}.`,
      `Reason: ${errorName[status]}: ${cause}`,
    ],
  });
  return { releaseId, outcome, weights, detail: cause };
};
