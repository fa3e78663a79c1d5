/** Test harness: a fresh simulated account with both fixture targets built, and deps for calling `run()`. */
import { fileURLToPath } from 'node:url';
import { findTarget, type Target } from '../../functions/shared/config.ts';
import type { ReleaseDeps } from '../../functions/shared/deps.ts';
import type { TargetGroupSettings } from '../../local/account/elbv2.ts';
import type { RateLimit } from '../../local/account/rate-limits.ts';
import type { ConcurrencyLimits } from '../../local/execution-environments.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';

export const fixtureTargets = fileURLToPath(new URL('../fixtures/targets.json', import.meta.url));

export interface TestWorld {
  rt: LocalRuntime;
  checkout: Target;
  search: Target;
  deps: ReleaseDeps;
}

export const startWorld = async (
  options: {
    faults?: FaultPlan;
    seed?: number;
    automation?: boolean;
    rateLimits?: RateLimit[];
    lambdaLimits?: ConcurrencyLimits;
    warmEnvironments?: Record<string, number>;
    /** The target groups' settings; default tuned for speed (FAST_TARGET_GROUPS), `{}` for AWS's defaults. */
    targetGroup?: TargetGroupSettings;
  } = {},
): Promise<TestWorld> => {
  const { targetGroup = FAST_TARGET_GROUPS, ...runtimeOptions } = options;
  let checkout: Target | undefined;
  let search: Target | undefined;
  const rt = await LocalRuntime.start({ targetsFile: fixtureTargets, ...runtimeOptions }, async (r) => {
    checkout = findTarget(r.targets, 'checkout-api');
    search = findTarget(r.targets, 'search-api');
    buildWorld(r.account, checkout, { liveTag: 'v1', targetGroup });
    buildWorld(r.account, search, { liveTag: 'release-1', tasks: 2, targetGroup });
    await serveTestListener(r.account, checkout);
  });
  // Imported only now: the clients read the local DynamoDB endpoint the runtime has just set, at import.
  const { releaseDeps } = await import('../../functions/shared/release-deps.ts');
  const deps = releaseDeps(rt.targets, rt.store, rt.tables.approvals);
  return { rt, checkout: checkout as Target, search: search as Target, deps };
};

/** A colour's service of `target` in the world, as the ECS API describes it. */
export const serviceOf = (t: TestWorld, colour: 'blue' | 'green', target: Target = t.checkout) =>
  t.rt.account.ecs.DescribeServices({
    cluster: target.ecs.cluster,
    services: [target.ecs.services[colour]],
  }).services[0];

/** Weights set by hand on `target`'s rule, as an operator would in the console. */
export const setWeightsByHand = (
  t: TestWorld,
  weights: { blue: number; green: number },
  target: Target = t.checkout,
) => {
  const { listenerRuleArn, targetGroups } = target.traffic;
  t.rt.account.elbv2.ModifyRule({
    RuleArn: listenerRuleArn as string,
    Actions: [
      {
        Type: 'forward',
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: targetGroups.blue, Weight: weights.blue },
            { TargetGroupArn: targetGroups.green, Weight: weights.green },
          ],
        },
      },
    ],
  });
};
