/** An analysis as people read it: notifications, approvals, `switchyard plan` and `describe`. */
import type { AnalysisRecord } from '../store.ts';
import { type Analysis, type AnalysisCheck, checksAt, toleranceOf, When } from './config.ts';
import { formatValue, labelOf } from './judge.ts';

/** Where an analysis entry was judged: `on test traffic` (before any weight moved) or `at 10%`. */
export const analysisPlace = (bake: Pick<AnalysisRecord, 'percent' | 'step'>): string =>
  bake.percent === 0
    ? 'of test traffic (before any weight moved)'
    : `at ${bake.percent}% (step ${bake.step})`;

/** One line per check: verdict, value against baseline, the test's p-value, and why. */
export const analysisLines = (bake: AnalysisRecord): string[] =>
  bake.results.map(
    (r) =>
      `Analysis ${analysisPlace(bake)}: ${r.check} ${r.verdict.toUpperCase()}, ${r.metric} ${
        r.value === null ? 'no data' : formatValue(r.value, r.unit)
      }${r.baseline === null ? '' : ` vs ${formatValue(r.baseline, r.unit)} on the old colour`}${
        r.comparison ? `, Mann-Whitney p=${r.comparison.pValue.toPrecision(2)}` : ''
      } (${r.samples.canary} periods): ${r.reason}`,
  );

/** `p95-latency: p95 latency ≤ 2000 ms, no worse than the old colour (98% confidence, tolerance 15%)`. */
export const checkText = (c: AnalysisCheck): string => {
  const { metric, unit } = labelOf(c);
  const parts = [
    ...(c.max !== undefined ? [`≤ ${formatValue(c.max, unit)}`] : []),
    ...(c.min !== undefined ? [`≥ ${formatValue(c.min, unit)}`] : []),
    ...(c.compare
      ? [
          `no worse than the old colour (${c.compare.confidence * 100}% confidence, tolerance ${
            c.metric === 'error-rate'
              ? `${(toleranceOf(c) * 100).toFixed(2)} points`
              : `${Math.round(toleranceOf(c) * 100)}%`
          })`,
        ]
      : []),
  ];
  return `${c.name}: ${metric} ${parts.join(', ')}`;
};

/**
 * What will judge the release on traffic, said before it runs (plan, approval): the checks on test
 * traffic before any weight moves, or why there are none, and the checks of every bake. Never silent:
 * a target whose thresholds cannot be judged before traffic says so.
 */
export const analysisDetails = (target: {
  analysis?: Analysis | undefined;
  traffic: { testListenerArn?: string | undefined };
}): Record<string, string> => {
  if (!target.analysis) return {};
  const test = checksAt(target.analysis, When.TestTraffic);
  const bakes = checksAt(target.analysis, When.Bakes);
  return {
    'Analysis before traffic': test.length
      ? `${test.map(checkText).join('; ')} (thresholds on the test listener's traffic, the preTraffic hooks' included, before any weight moves)`
      : target.traffic.testListenerArn
        ? 'none: no check has when: ["test-traffic"], so analysis first judges real traffic in the first bake'
        : 'none: no test listener, so analysis first judges real traffic in the first bake',
    'Analysis in each bake': bakes.length ? bakes.map(checkText).join('; ') : 'none',
  };
};
