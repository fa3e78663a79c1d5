import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { scaleService } from '../shared/ecs.ts';
import { TrafficSplit } from '../shared/errors.ts';
import { readWeights } from '../shared/traffic.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'elbv2' | 'ecs'>;

/** After the bake: scales the old colour to 0, but never while it still has weight. */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const { weights } = await readWeights(deps.elbv2, target.traffic);
  if (weights[input.plan.fromColour] > 0) {
    throw new TrafficSplit(
      `${input.plan.fromColour} still has weight ${weights[input.plan.fromColour]}; not scaling it down`,
    );
  }
  await scaleService(deps.ecs, input.plan.cluster, input.plan.fromService, 0);
  return { service: input.plan.fromService, desiredCount: 0 };
};
