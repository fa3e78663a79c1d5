/**
 * Deploy claims: while one release's UpdateService may still land on a service, no other release
 * deploys that service.
 *
 * AWS does not stop a Lambda invocation when its execution is stopped, and the recovery hands the
 * target to the rollback (or the next release) at once. ECS keeps the last UpdateService it was
 * sent, so a stopped release's deploy call still in flight (an SDK retry after throttling, say)
 * could land after the new owner's, run the stopped release's revision on the new owner's service,
 * and its fence (halt.ts) would then scale that service to 0: the rollback ends RollbackFailed, with
 * the version ops wanted gone still live. So a deploy step claims its service first, and gives the
 * claim up as it returns or fails. A claim held by another release makes the step fail with
 * TransientError, which its state retries (3 s, doubling to 60 s, 25 times) until the holder is done.
 * A holder that died without giving its claim up (a Lambda timeout) holds it only until its
 * invocation's own deadline: Lambda has ended the invocation by then.
 */
import { TransientError } from './errors.ts';
import type { Store } from './store.ts';

/** Lambda's longest function timeout, 900 s (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
const LAMBDA_MAX_TIMEOUT_MS = 900_000;

export interface ClaimDeps {
  store: Pick<Store, 'claimService' | 'releaseService'>;
  now: () => Date;
  /** When this invocation ends at the latest (epoch ms): its context's remaining time, at the start. */
  invocationEndsAt?: number;
}

/** Runs `deploy` holding the claim on `cluster/service` for `releaseId`. */
export const withDeployClaim = async <T>(
  deps: ClaimDeps,
  releaseId: string,
  where: { cluster: string; service: string },
  deploy: () => Promise<T>,
): Promise<T> => {
  const service = `${where.cluster}/${where.service}`;
  const nowMs = deps.now().getTime();
  const held = await deps.store.claimService(
    service,
    releaseId,
    nowMs,
    deps.invocationEndsAt ?? nowMs + LAMBDA_MAX_TIMEOUT_MS,
  );
  if (held) {
    throw new TransientError(
      `${where.service} is still being deployed by ${held.holder}, whose invocation may run until ${new Date(held.untilMs).toISOString()}; ${releaseId} deploys it once that one is done`,
    );
  }
  try {
    return await deploy();
  } finally {
    // Not given up (DynamoDB failed): the claim runs out at this invocation's deadline.
    await deps.store.releaseService(service, releaseId).catch(() => undefined);
  }
};
