import { closeApproval } from '../shared/approvals.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { TrafficSplit } from '../shared/errors.ts';
import { ENDED, scaleUnlessEnded } from '../shared/halt.ts';
import { withServiceClaim } from '../shared/service-claims.ts';
import { approvalIdFor } from '../shared/signing.ts';
import { readWeights } from '../shared/traffic.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<
  ReleaseDeps,
  'targets' | 'elbv2' | 'ecs' | 'store' | 'approvals' | 'now' | 'invocationEndsAt' | 'invocationId'
>;

/**
 * Failure before traffic moved: scales the idle colour back to 0. It re-reads the weights first
 * and refuses to touch a colour that takes traffic. The snapshot is kept. An approval still
 * pending (its wait failed or timed out) is closed first: nobody can approve a release that stops.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  if (!input.plan) return { skipped: 'no plan: nothing was deployed' };
  const target = findTarget(deps.targets, input.target);
  // First, whatever the weights say: the approval of a release that stops is closed. A rejection
  // that was taken is what stopped it, and stays as it is.
  if (input.error?.Error !== 'ApprovalRejected') {
    await closeApproval(approvalIdFor(input.releaseId), input.error?.Error ?? 'it failed', deps);
  }
  const { weights } = await readWeights(deps.elbv2, target.traffic);
  if (weights[input.plan.toColour] > 0) {
    throw new TrafficSplit(
      `${input.plan.toColour} has weight ${weights[input.plan.toColour]}; not scaling it down`,
    );
  }
  // First the halt marker, so a deployment still landing (the other Parallel branch's Lambda, which
  // Step Functions does not stop) sees it after its UpdateService and scales back itself (halt.ts).
  await deps.store.updateRelease(input.releaseId, { haltedBy: 'clean-up' });
  const { cluster, toService } = input.plan;
  const done = await withServiceClaim(deps, input.releaseId, { cluster, service: toService }, () =>
    scaleUnlessEnded(deps, input.releaseId, cluster, toService),
  );
  return done ? { service: input.plan.toService, desiredCount: 0 } : { skipped: ENDED };
};
