/** An analysis as people read it: notifications and `switchyard describe`. */
import type { AnalysisRecord } from '../store.ts';
import { formatValue } from './judge.ts';

/** One line per check: verdict, value against baseline, the test's p-value, and why. */
export const analysisLines = (bake: AnalysisRecord): string[] =>
  bake.results.map(
    (r) =>
      `Analysis at ${bake.percent}% (step ${bake.step}): ${r.check} ${r.verdict.toUpperCase()}, ${r.metric} ${
        r.value === null ? 'no data' : formatValue(r.value, r.unit)
      }${r.baseline === null ? '' : ` vs ${formatValue(r.baseline, r.unit)} on the old colour`}${
        r.comparison ? `, Mann-Whitney p=${r.comparison.pValue.toPrecision(2)}` : ''
      } (${r.samples.canary} periods): ${r.reason}`,
  );
