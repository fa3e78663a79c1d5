import { analyse } from '../shared/analysis/index.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { AnalysisFailed } from '../shared/errors.ts';
import { otherColour } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'cloudwatch' | 'now'>;

/**
 * The bake's last judgement, over its whole window, when its time is up: the watch judged it each
 * minute, but the last minutes' data arrive after it ended. Every check's result goes on the record
 * (value, baseline, statistic, p-value, verdict). A failed check rolls back; an inconclusive one
 * (too few samples) rolls back too unless the check says `inconclusive: warn`, never a silent pass.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const end = deps.now();
  const start = new Date(end.getTime() - input.traffic.bakeSeconds * 1000);
  const previous =
    input.traffic.percent < 100
      ? undefined
      : (await deps.store.getRelease(input.releaseId))?.analysis?.filter((a) => a.percent < 100).at(-1);
  const results = await analyse(
    target,
    deps.cloudwatch,
    { canary: input.toColour, baseline: otherColour(input.toColour) },
    { start, end },
    {
      oldServes: input.traffic.percent < 100,
      // At 100% the old colour serves nothing: its baseline is the previous step's bake.
      baselineWindow: previous ? { start: new Date(previous.from), end: new Date(previous.to) } : undefined,
    },
  );
  const checks = target.analysis?.checks ?? [];
  const warnings = results.filter(
    (r) => r.verdict === 'inconclusive' && checks.find((c) => c.name === r.check)?.inconclusive === 'warn',
  );
  const failures = results.filter(
    (r) => r.verdict === 'fail' || (r.verdict === 'inconclusive' && !warnings.includes(r)),
  );
  await deps.store.recordAnalysis(input.releaseId, {
    step: input.traffic.step + 1,
    percent: input.traffic.percent,
    from: start.toISOString(),
    to: end.toISOString(),
    results,
  });
  if (failures.length > 0) {
    throw new AnalysisFailed(
      `at ${input.traffic.percent}% on ${input.toColour}, at the bake's end: ${failures
        .map(
          (r) =>
            `analysis check "${r.check}" ${r.verdict === 'fail' ? 'failed' : 'was inconclusive (too little data is never a pass)'}: ${r.reason}`,
        )
        .join('; ')}`,
    );
  }
  return {
    summary: `${results.length} check(s) at ${input.traffic.percent}%: ${results
      .map((r) => `${r.check} ${r.verdict === 'inconclusive' ? 'INCONCLUSIVE (warn)' : r.verdict}`)
      .join(
        ', ',
      )}${warnings.length ? `; WARNING: ${warnings.map((w) => `${w.check}: ${w.reason}`).join('; ')}` : ''}`,
  };
};
