import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { Superseded, TransientError } from '../shared/errors.ts';
import type { QueueEntry } from '../shared/store.ts';
import { sendFailure, sendSuccess } from '../shared/task-tokens.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'sfn' | 'now'>;

/** Orders queued releases: the later push wins; ties go to the larger release id (deterministic). */
export const isNewer = (
  a: Pick<QueueEntry, 'pushedAt' | 'releaseId'>,
  b: Pick<QueueEntry, 'pushedAt' | 'releaseId'>,
) => a.pushedAt > b.pushedAt || (a.pushedAt === b.pushedAt && a.releaseId > b.releaseId);

const MAX_ATTEMPTS = 6;

/**
 * Takes the target's lock and resumes the execution at once, or queues behind the holder. The
 * queue has one slot: a newer push replaces (supersedes) an older queued one, an older push is
 * itself superseded. The holder's ReleaseLock step hands the lock to the queued release.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  await deps.store.createRelease({
    releaseId: input.releaseId,
    target: target.name,
    environment: target.environment,
    image: input.image,
    trigger: input.trigger,
    executionArn: input.executionArn,
  });
  const me: QueueEntry = {
    releaseId: input.releaseId,
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

    if (lock.leaseExpiresAt < deps.now().toISOString() && (await ownerIsGone(deps, lock.ownerExecutionArn))) {
      await deps.store.tryAcquire(target.name, input.releaseId, input.executionArn, lock.owner);
      continue;
    }

    const queued = lock.queued;
    if (queued && queued.releaseId !== me.releaseId && isNewer(queued, me)) {
      throw new Superseded(`superseded by ${queued.releaseId}, a newer image queued for ${target.name}`);
    }
    if (await deps.store.enqueue(target.name, lock.owner, me, queued?.releaseId)) {
      if (queued && queued.releaseId !== me.releaseId) {
        await sendFailure(
          deps.sfn,
          queued.taskToken,
          'Superseded',
          `superseded by ${me.releaseId} (${input.image.tag})`,
        );
      }
      await deps.store.updateRelease(input.releaseId, { status: 'Queued' });
      return { state: 'queued', behind: lock.owner };
    }
  }
  throw new TransientError(`lock for ${target.name} kept changing; gave up after ${MAX_ATTEMPTS} attempts`);
};

const ownerIsGone = async (deps: Deps, executionArn: string): Promise<boolean> => {
  try {
    const out = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return out.status !== 'RUNNING';
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return true;
    throw error;
  }
};
