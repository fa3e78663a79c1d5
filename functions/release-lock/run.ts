import type { ReleaseDeps } from '../shared/deps.ts';
import { TransientError } from '../shared/errors.ts';
import { sendSuccess } from '../shared/task-tokens.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'sfn' | 'now'>;

/**
 * Frees the target's lock on every terminal path, or hands it straight to the queued release and
 * resumes it. Holding nothing (superseded, or a retry after the release) is not an error.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  let releasing = input.releaseId;
  for (let attempt = 0; attempt < 6; attempt++) {
    const lock = await deps.store.getLock(input.target);
    if (!lock || lock.owner !== releasing) {
      return releasing === input.releaseId
        ? { released: false, reason: lock ? `held by ${lock.owner}` : 'not held' }
        : { released: true };
    }
    const next = lock.queued;
    if (!next) {
      if (await deps.store.release(input.target, releasing)) return { released: true };
      continue; // someone queued meanwhile
    }
    if (!(await deps.store.handOver(input.target, releasing, next))) continue;
    await deps.store.updateRelease(next.releaseId, { status: 'Running' });
    if (
      await sendSuccess(deps.sfn, next.taskToken, {
        acquiredAt: deps.now().toISOString(),
        after: input.releaseId,
      })
    ) {
      return { released: true, handedTo: next.releaseId };
    }
    // The queued execution is gone (timed out or stopped): free the lock on its behalf.
    releasing = next.releaseId;
  }
  throw new TransientError(`lock for ${input.target} kept changing; gave up`);
};
