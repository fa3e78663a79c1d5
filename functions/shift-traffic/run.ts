import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { allTo, percentages, setWeights } from '../shared/traffic.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'elbv2'>;

/** All-at-once: one SetWeight to the new colour, verified by reading the rule back. */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const weights = await setWeights(deps.elbv2, target.traffic, allTo(input.plan.toColour));
  return { weights, percent: percentages(weights) };
};
