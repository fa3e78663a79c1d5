import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { describeService } from '../shared/ecs.ts';
import { InvalidInput, RollbackFailed } from '../shared/errors.ts';
import { scaleUnlessEnded } from '../shared/halt.ts';
import { withServiceClaim } from '../shared/service-claims.ts';
import { allTo, readWeights, setWeights, type TrafficConfig } from '../shared/traffic.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<
  ReleaseDeps,
  'targets' | 'elbv2' | 'ecs' | 'store' | 'now' | 'invocationEndsAt' | 'invocationId'
>;

/**
 * Failure after traffic moved: all weight back on the old colour (verified by read-back), then the
 * new colour scaled to 0. The old colour is still warm here: it is scaled down only after the bake.
 * A failed bake has normally put the weights back already (`resumeWait`); then this checks they are
 * still back and that the old colour runs, and finishes the job.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { plan } = input;
  if (!plan) throw new InvalidInput('rollback needs the release plan');
  const target = findTarget(deps.targets, input.target);
  const [old, current] = await Promise.all([
    describeService(deps.ecs, plan.cluster, plan.fromService),
    readWeights(deps.elbv2, target.traffic),
  ]);
  const alreadyBack = current.weights[plan.toColour] === 0 && current.weights[plan.fromColour] > 0;
  if ((old.runningCount ?? 0) === 0) {
    throw new RollbackFailed(
      alreadyBack
        ? `traffic is back on ${plan.fromColour}, but ${plan.fromService} has no running tasks`
        : `${plan.fromColour} (${plan.fromService}) has no running tasks; traffic cannot go back to it. Once it runs again, \`switchyard rollback --target ${input.target}\` puts the traffic on ${plan.toColour} back on it`,
    );
  }
  // Back already (a failed bake's fast rollback): keep the time that rollback recorded.
  const recorded = alreadyBack
    ? (await deps.store.getRelease(input.releaseId))?.trafficRestoredAt
    : undefined;
  // The group's web rules go back with the primary's, at once (each verified by read-back); its
  // workers and singletons follow in RollBackGroup.
  const [{ weights }] = await Promise.all([
    alreadyBack ? current : setWeights(deps.elbv2, target.traffic, allTo(plan.fromColour), current),
    ...plan.members
      .filter((m) => m.traffic)
      .map((m) => setWeights(deps.elbv2, m.traffic as TrafficConfig, allTo(m.fromColour))),
  ]);
  const restoredAt = recorded ?? deps.now().toISOString();
  if (!recorded) {
    await deps.store.updateRelease(input.releaseId, { trafficRestoredAt: restoredAt, trafficPercent: 0 });
  }
  await withServiceClaim(deps, input.releaseId, { cluster: plan.cluster, service: plan.toService }, () =>
    scaleUnlessEnded(deps, input.releaseId, plan.cluster, plan.toService),
  );
  return {
    weights,
    scaledDown: plan.toService,
    summary: `all traffic back on ${plan.fromColour}, verified at ${restoredAt}; ${plan.toService} scaled to 0`,
  };
};
