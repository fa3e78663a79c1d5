/**
 * One analysis of a target's new colour over a window: read every check's samples (one
 * GetMetricData), judge each. The bake's watch runs it on each reconciler tick (a failed check rolls
 * back like an alarm); AnalyseBake runs it once more when the bake ends.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Target } from '../config.ts';
import type { Colour } from '../vocabulary.ts';
import { type CheckResult, judgeCheck } from './judge.ts';
import { loadBalancerOf, readSamples, type Window } from './metrics.ts';

/**
 * `baselineWindow`: where the old colour's samples come from when it serves nothing now (at 100%,
 * the previous step's bake); without one, a comparison at 100% is not made and thresholds decide.
 */
export const analyse = async (
  target: Target,
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  colours: { canary: Colour; baseline: Colour },
  window: Window,
  options: { oldServes: boolean; baselineWindow?: Window | undefined },
): Promise<CheckResult[]> => {
  const analysis = target.analysis;
  if (!analysis) return [];
  const sources = {
    loadBalancer: loadBalancerOf(target.traffic.listenerRuleArn ?? target.traffic.listenerArn ?? ''),
    targetGroups: target.traffic.targetGroups,
  };
  const baselineWindow = options.oldServes ? window : options.baselineWindow;
  const samples = await readSamples(cloudwatch, analysis, sources, colours, {
    canary: window,
    baseline: baselineWindow ?? window,
  });
  return analysis.checks.map((check, i) =>
    judgeCheck(check, samples[i] ?? { canary: [], baseline: [] }, {
      compare: baselineWindow !== undefined,
      ...(options.oldServes ? {} : { baselineFrom: 'the previous step' }),
    }),
  );
};

/** `check p95: …; check errors: …` for an error's cause. */
export const describeFailures = (results: CheckResult[]): string =>
  results
    .filter((r) => r.verdict === 'fail')
    .map((r) => `analysis check "${r.check}" failed: ${r.reason}`)
    .join('; ');
