import type { ReleaseDeps } from '../shared/deps.ts';
import { TransientError } from '../shared/errors.ts';
import { failDisplaced, resumeOwner } from '../shared/lock-signals.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'sfn' | 'now'>;

/**
 * Frees the target's lock on every terminal path, or hands it straight to the queued release and
 * resumes it. Holding nothing (superseded, or a retry after the release) is not an error. The
 * hand-over writes the resume it owes into the lock; a retry of this step, or the reconciler, sends
 * it if this run dies before it does.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  let releasing = input.releaseId;
  for (let attempt = 0; attempt < 8; attempt++) {
    const lock = await deps.store.getLock(input.target);
    if (lock?.resume && lock.resume.after === releasing && lock.owner === lock.resume.releaseId) {
      // Handed over (by this run, or by a run of this step that died before resuming the new owner).
      const { resumed } = await resumeOwner(lock, deps);
      if (resumed) return { released: true, handedTo: lock.owner };
      // The new owner's execution is gone (timed out or stopped): free the lock on its behalf.
      releasing = lock.owner;
      continue;
    }
    if (!lock || lock.owner !== releasing) {
      return releasing === input.releaseId
        ? { released: false, reason: lock ? `held by ${lock.owner}` : 'not held' }
        : { released: true };
    }
    // A Superseded owed to a displaced release goes with the lock's record, so send it first.
    if (lock.displaced) await failDisplaced(lock, deps);
    const next = lock.queued;
    if (!next) {
      if (await deps.store.release(input.target, releasing)) return { released: true };
      continue; // someone queued meanwhile
    }
    await deps.store.handOver(input.target, releasing, next, {
      releaseId: next.releaseId,
      taskToken: next.taskToken,
      after: releasing,
    });
    // Either way the next read shows who holds it now (and the resume to send, if it was us).
  }
  throw new TransientError(`lock for ${input.target} kept changing; gave up`);
};
