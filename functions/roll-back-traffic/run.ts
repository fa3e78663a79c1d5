import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { describeService, scaleService } from '../shared/ecs.ts';
import { InvalidInput, RollbackFailed } from '../shared/errors.ts';
import { allTo, setWeights } from '../shared/traffic.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'elbv2' | 'ecs' | 'store' | 'now'>;

/**
 * Failure after traffic moved: all weight back on the old colour (verified by read-back), then the
 * new colour scaled to 0. The old colour is still warm here: it is scaled down only after the bake.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { plan } = input;
  if (!plan) throw new InvalidInput('rollback needs the release plan');
  const target = findTarget(deps.targets, input.target);
  const old = await describeService(deps.ecs, plan.cluster, plan.fromService);
  if ((old.runningCount ?? 0) === 0) {
    throw new RollbackFailed(
      `${plan.fromColour} (${plan.fromService}) has no running tasks; traffic cannot go back to it`,
    );
  }
  const weights = await setWeights(deps.elbv2, target.traffic, allTo(plan.fromColour));
  const restoredAt = deps.now().toISOString();
  await deps.store.updateRelease(input.releaseId, { trafficRestoredAt: restoredAt, trafficPercent: 0 });
  await scaleService(deps.ecs, plan.cluster, plan.toService, 0);
  return {
    weights,
    scaledDown: plan.toService,
    summary: `all traffic back on ${plan.fromColour}, verified at ${restoredAt}; ${plan.toService} scaled to 0`,
  };
};
