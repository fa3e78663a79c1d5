import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import { soakFor } from '../shared/promotion.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'now' | 'targets'>;

/** Writes the terminal outcome and the error that caused it into the release record. */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  // A rollback that failed is what a person must act on first; what made it roll back follows.
  const failedBack =
    input.outcome === 'RollbackFailed' && input.rollbackError && input.error
      ? {
          Error: input.rollbackError.Error,
          Cause: `${input.rollbackError.Cause ?? ''} (rolling back after ${input.error.Error}: ${input.error.Cause ?? ''})`,
        }
      : undefined;
  const error =
    failedBack ?? input.error ?? input.rollbackError ?? input.cleanupError ?? input.scaleDownError;
  // Written once: a retry after this wrote, or the recovery of an execution stopped while this ran
  // (a Lambda AWS does not stop), finds the outcome already there and leaves it.
  const now = deps.now();
  // A Promoted release of a target others are promoted from begins its soak now (soak.ts).
  const soak = input.outcome === 'Promoted' ? soakFor(deps, input.target, now) : undefined;
  const first = await deps.store.updateRelease(
    input.releaseId,
    {
      status: input.outcome,
      outcome: input.outcome,
      endedAt: now.toISOString(),
      soak,
      error: error ? { Error: error.Error, Cause: error.Cause ?? '' } : undefined,
    },
    { unlessSet: 'outcome' },
  );
  if (!first) {
    const recorded = (await deps.store.getRelease(input.releaseId))?.outcome;
    if (recorded) return { outcome: recorded };
  }
  // The stack's metric filter counts releases by outcome from this line.
  logger.info('release outcome', { outcome: input.outcome, target: input.target });
  return { outcome: input.outcome };
};
