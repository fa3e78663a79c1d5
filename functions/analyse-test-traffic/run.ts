import { When } from '../shared/analysis/config.ts';
import { analyse, conclude } from '../shared/analysis/index.ts';
import { MAX_SAMPLES } from '../shared/analysis/metrics.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { otherColour } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'cloudwatch' | 'now'>;

/**
 * Before any weight moves: the checks that judge test traffic (`when: test-traffic`), over the new
 * colour's traffic through the test listener since its health check began (the load-test hooks'
 * requests included), thresholds only: the old colour gets no test traffic to compare with. A failed
 * or inconclusive check (unless it warns) aborts with nothing shifted; every result is recorded.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const end = deps.now();
  const entered = input.enteredAt ? Date.parse(input.enteredAt) : end.getTime();
  const extendedSeconds = Math.round((end.getTime() - entered) / 1000);
  const record = await deps.store.getRelease(input.releaseId);
  const periodSeconds = target.analysis?.periodSeconds ?? 60;
  // From the first preTraffic hook's start (a load test's requests), else from the health check (the
  // new colour's first test traffic); at most the latest hour.
  const from =
    (record?.hooks ?? [])
      .filter((h) => h.point === 'preTraffic' && h.startedAt)
      .map((h) => h.startedAt as string)
      .sort()[0] ?? record?.phases.findLast((p) => p.name === 'CheckHealth')?.startedAt;
  const start = new Date(
    Math.max(from ? Date.parse(from) : 0, end.getTime() - (MAX_SAMPLES + 2) * periodSeconds * 1000),
  );
  const results = await analyse(
    target,
    deps.cloudwatch,
    { canary: input.toColour, baseline: otherColour(input.toColour) },
    { start, end },
    {
      oldServes: false,
      when: When.TestTraffic,
      whyNoComparison: 'before traffic the old colour has no test traffic to compare with',
    },
  );
  const index = (record?.analysis ?? []).findIndex((a) => a.step === 0);
  await deps.store.recordAnalysis(input.releaseId, index >= 0 ? index : undefined, {
    step: 0,
    percent: 0,
    from: start.toISOString(),
    to: end.toISOString(),
    results,
  });
  const where = `on ${input.toColour}'s test-listener traffic, before any weight moved`;
  return {
    summary: conclude(target, results, extendedSeconds, {
      failed: where,
      extending: where,
      gaveUp: `${where}: analysis still inconclusive after waiting ${Math.round(extendedSeconds / 60)} min more for test traffic`,
      tooLittle:
        'too little data is never a pass; send test traffic, e.g. a load-test hook, or inconclusive: "warn"',
      summary: 'on test traffic',
    }),
  };
};
