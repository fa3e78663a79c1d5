/**
 * One analysis of a target's new colour over a window: read every check's samples (one
 * GetMetricData), judge each. The bake's watch runs it on each reconciler tick (a failed check rolls
 * back like an alarm); AnalyseBake runs it once more when the bake ends.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Target } from '../config.ts';
import type { Colour } from '../vocabulary.ts';
import { type CheckResult, judgeCheck } from './judge.ts';
import { loadBalancerOf, readSamples } from './metrics.ts';

export const analyse = async (
  target: Target,
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  colours: { canary: Colour; baseline: Colour },
  window: { start: Date; end: Date },
  options: { compare: boolean },
): Promise<CheckResult[]> => {
  const analysis = target.analysis;
  if (!analysis) return [];
  const sources = {
    loadBalancer: loadBalancerOf(target.traffic.listenerRuleArn ?? target.traffic.listenerArn ?? ''),
    targetGroups: target.traffic.targetGroups,
  };
  const samples = await readSamples(cloudwatch, analysis, sources, colours, window);
  return analysis.checks.map((check, i) =>
    judgeCheck(check, samples[i] ?? { canary: [], baseline: [] }, options),
  );
};

/** `check p95: …; check errors: …` for an error's cause. */
export const describeFailures = (results: CheckResult[]): string =>
  results
    .filter((r) => r.verdict === 'fail')
    .map((r) => `analysis check "${r.check}" failed: ${r.reason}`)
    .join('; ');
