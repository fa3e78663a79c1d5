import { When } from '../shared/analysis/config.ts';
import { analyse, EXTEND_SECONDS, sortResults } from '../shared/analysis/index.ts';
import { MAX_SAMPLES } from '../shared/analysis/metrics.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { AnalysisFailed, AnalysisInconclusive } from '../shared/errors.ts';
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
  const { warnings, extending, failures } = sortResults(target, results);
  const where = `on ${input.toColour}'s test-listener traffic, before any weight moved`;
  if (failures.length === 0 && extending.length > 0) {
    const why = extending.map((r) => `"${r.check}": ${r.reason}`).join('; ');
    if (extendedSeconds + 60 > EXTEND_SECONDS)
      throw new AnalysisFailed(
        `${where}: analysis still inconclusive after waiting ${Math.round(extendedSeconds / 60)} min more for test traffic (too little data is never a pass): ${why}`,
      );
    throw new AnalysisInconclusive(`${where}: ${why}; judged again in a minute`);
  }
  if (failures.length > 0)
    throw new AnalysisFailed(
      `${where}: ${failures
        .map(
          (r) =>
            `analysis check "${r.check}" ${r.verdict === 'fail' ? 'failed' : 'was inconclusive (too little data is never a pass; send test traffic, e.g. a load-test hook, or inconclusive: "warn")'}: ${r.reason}`,
        )
        .join('; ')}`,
    );
  return {
    summary: `${results.length} check(s) on test traffic: ${results
      .map((r) => `${r.check} ${r.verdict === 'inconclusive' ? 'INCONCLUSIVE (warn)' : r.verdict}`)
      .join(
        ', ',
      )}${warnings.length ? `; WARNING: ${warnings.map((w) => `${w.check}: ${w.reason}`).join('; ')}` : ''}`,
  };
};
