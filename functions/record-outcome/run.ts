import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'now'>;

/** Writes the terminal outcome and the error that caused it into the release record. */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const error = input.error ?? input.rollbackError ?? input.cleanupError ?? input.scaleDownError;
  await deps.store.updateRelease(input.releaseId, {
    status: input.outcome,
    outcome: input.outcome,
    endedAt: deps.now().toISOString(),
    error: error ? { Error: error.Error, Cause: error.Cause ?? '' } : undefined,
  });
  // The stack's metric filter counts releases by outcome from this line.
  logger.info('release outcome', { outcome: input.outcome, target: input.target });
  return { outcome: input.outcome };
};
