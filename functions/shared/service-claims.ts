/**
 * Service claims: while one release's change to an ECS service (a deployment, a scale) may still
 * land, no other release changes that service.
 *
 * AWS does not stop a Lambda invocation when its execution is stopped, and the recovery hands the
 * target to the rollback (or the next release) at once. ECS keeps the last UpdateService it was
 * sent, so a stopped release's call still in flight (an SDK retry after throttling, say) could land
 * after the new owner's: its revision, or a count of 0, on the service the rollback just restored.
 * So each step that changes a colour's service claims the service around its change, and gives the
 * claim up as it returns or fails. A claim held by another release makes the step fail with
 * TransientError, which its state retries (3 s, doubling to 60 s) until the holder is done. A holder
 * that died without giving its claim up (a Lambda timeout) holds it until its invocation's deadline
 * and CLAIM_MARGIN_MS after. A Step Functions retry of the same release takes the claim over from
 * its earlier attempt (which may still be running): only the attempt holding it gives it up.
 */
import { TransientError } from './errors.ts';
import type { Store } from './store.ts';

/** Lambda's longest function timeout, 900 s (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
const LAMBDA_MAX_TIMEOUT_MS = 900_000;

/**
 * A call sent just before Lambda ends the invocation may still reach ECS after it: the claim outlives
 * the deadline by this much. AWS gives no figure; well past an API call's latency.
 */
export const CLAIM_MARGIN_MS = 30_000;

export interface ClaimDeps {
  store: Pick<Store, 'claimService' | 'releaseService'>;
  now: () => Date;
  /** When this invocation ends at the latest (epoch ms): its context's remaining time, at the start. */
  invocationEndsAt?: number;
  /** This invocation's id (its context's awsRequestId): the claim's token. */
  invocationId?: string;
}

/** Runs `change` holding the claim on `cluster/service` for `releaseId`. */
export const withServiceClaim = async <T>(
  deps: ClaimDeps,
  releaseId: string,
  where: { cluster: string; service: string },
  change: () => Promise<T>,
): Promise<T> => {
  const service = `${where.cluster}/${where.service}`;
  const nowMs = deps.now().getTime();
  const token = deps.invocationId ?? `${releaseId}@${nowMs}`;
  const endsAt = deps.invocationEndsAt ?? nowMs + LAMBDA_MAX_TIMEOUT_MS;
  const held = await deps.store.claimService(service, releaseId, token, nowMs, endsAt + CLAIM_MARGIN_MS);
  if (held) {
    throw new TransientError(
      `${where.service} is still being changed by ${held.holder}, whose call may land until ${new Date(held.untilMs).toISOString()}; ${releaseId} changes it once that one is done`,
    );
  }
  try {
    return await change();
  } finally {
    // Not given up (DynamoDB failed): the claim runs out at its deadline.
    await deps.store.releaseService(service, token).catch(() => undefined);
  }
};
