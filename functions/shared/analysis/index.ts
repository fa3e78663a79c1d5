/**
 * One analysis of a target's new colour over a window: read every check's samples (one
 * GetMetricData), judge each. The bake's watch runs it on each reconciler tick (a failed check rolls
 * back like an alarm); AnalyseBake runs it once more when the bake ends.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Target } from '../config.ts';
import { AnalysisFailed, AnalysisInconclusive } from '../errors.ts';
import type { Colour } from '../vocabulary.ts';
import { checksAt, When } from './config.ts';
import { type CheckResult, judgeCheck } from './judge.ts';
import { readSamples, sourcesOf, type Window } from './metrics.ts';

/**
 * `baselineWindow`: where the old colour's samples come from when it serves nothing now (at 100%,
 * the previous step's bake); without one, a comparison at 100% is not made and thresholds decide.
 */
export const analyse = async (
  target: Target,
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  colours: { canary: Colour; baseline: Colour },
  window: Window,
  options: {
    oldServes: boolean;
    baselineWindow?: Window | undefined;
    /** Which checks: those judged in bakes (real traffic), or on test traffic (thresholds only). */
    when: (typeof When)[keyof typeof When];
    /** Why a check's comparison is not made in this window (the old colour serves nothing now). */
    whyNoComparison?: string;
  },
): Promise<CheckResult[]> => {
  const checks = checksAt(target.analysis, options.when);
  if (!target.analysis || checks.length === 0) return [];
  const analysis = { ...target.analysis, checks };
  const sources = sourcesOf(target);
  const baselineWindow = options.oldServes ? window : options.baselineWindow;
  const samples = await readSamples(
    cloudwatch,
    analysis,
    sources,
    colours,
    { canary: window, baseline: baselineWindow ?? window },
    options.when === When.TestTraffic ? 'busiest-period' : 'window',
  );
  return analysis.checks.map((check, i) =>
    judgeCheck(check, samples[i] ?? { canary: [], baseline: [] }, {
      compare: baselineWindow !== undefined,
      ...(options.oldServes ? {} : { baselineFrom: 'the previous step' }),
      ...(options.whyNoComparison ? { whyNoComparison: options.whyNoComparison } : {}),
    }),
  );
};

/**
 * How long a check with `inconclusive: extend` waits for more data, judged again each minute (the
 * ASL's AnalysisInconclusive retries on AnalyseBake and AnalyseTestTraffic last as long).
 */
export const EXTEND_SECONDS = 600;

/**
 * How long the state machine waits (SettleTestTraffic) before AnalyseTestTraffic judges: ALB metrics
 * are published a minute at a time and CloudWatch has each minute 1-2 min after it ends, so a load
 * test that just stopped would otherwise lose its last minutes (see periodsIn).
 */
export const SETTLE_SECONDS = 120;

/**
 * What each result means for the release, by the check's `inconclusive` policy: a failure, or an
 * inconclusive check that fails; a warning (recorded, shown, not stopping); one that waits for more data.
 */
const sortResults = (target: Target, results: CheckResult[]) => {
  const policy = (r: CheckResult) => target.analysis?.checks.find((c) => c.name === r.check)?.inconclusive;
  const warnings = results.filter((r) => r.verdict === 'inconclusive' && policy(r) === 'warn');
  const extending = results.filter((r) => r.verdict === 'inconclusive' && policy(r) === 'extend');
  const failures = results.filter(
    (r) =>
      r.verdict === 'fail' ||
      (r.verdict === 'inconclusive' && !warnings.includes(r) && !extending.includes(r)),
  );
  return { warnings, extending, failures };
};

/**
 * What a judged window means for the release, as AnalyseBake and AnalyseTestTraffic both decide it:
 * a failure (or an inconclusive check that does not warn or extend) is AnalysisFailed; a check that
 * may extend is AnalysisInconclusive (the ASL tries again a minute later) until EXTEND_SECONDS have
 * passed, then AnalysisFailed; otherwise a summary, warnings named. `words` says where it was judged.
 */
export const conclude = (
  target: Target,
  results: CheckResult[],
  extendedSeconds: number,
  words: {
    /** Where the failures were found: `at 10% on green, at the bake's end`. */
    failed: string;
    /** Where an extension stands: `at 10% on green, 3 min past the bake's end`. */
    extending: string;
    /** Why it gave up: `at 10% on green: analysis still inconclusive after extending the bake 10 min`. */
    gaveUp: string;
    /** What to do about too little data. */
    tooLittle: string;
    /** `at 10%`, `on test traffic`. */
    summary: string;
  },
): string => {
  const { warnings, extending, failures } = sortResults(target, results);
  if (failures.length === 0 && extending.length > 0) {
    const why = extending.map((r) => `"${r.check}": ${r.reason}`).join('; ');
    if (extendedSeconds + 60 > EXTEND_SECONDS)
      throw new AnalysisFailed(`${words.gaveUp} (too little data is never a pass): ${why}`);
    throw new AnalysisInconclusive(`${words.extending}: ${why}; judged again in a minute`);
  }
  if (failures.length > 0)
    throw new AnalysisFailed(
      `${words.failed}: ${failures
        .map(
          (r) =>
            `analysis check "${r.check}" ${r.verdict === 'fail' ? 'failed' : `was inconclusive (${words.tooLittle})`}: ${r.reason}`,
        )
        .join('; ')}`,
    );
  return `${results.length} check(s) ${words.summary}: ${results
    .map((r) => `${r.check} ${r.verdict === 'inconclusive' ? 'INCONCLUSIVE (warn)' : r.verdict}`)
    .join(
      ', ',
    )}${warnings.length ? `; WARNING: ${warnings.map((w) => `${w.check}: ${w.reason}`).join('; ')}` : ''}`;
};

/** `check p95: …; check errors: …` for an error's cause. */
export const describeFailures = (results: CheckResult[]): string =>
  results
    .filter((r) => r.verdict === 'fail')
    .map((r) => `analysis check "${r.check}" failed: ${r.reason}`)
    .join('; ');
