/**
 * The judgement of one analysis check on one window: the new colour's samples (one per period)
 * against its thresholds, and against the old colour's samples over the same periods (Mann-Whitney
 * U, one-sided in the direction that is worse). Too few samples is inconclusive, never a pass.
 */
import { type AnalysisCheck, BuiltInMetric, toleranceOf } from './config.ts';
import { mannWhitneyU } from './mann-whitney.ts';

export interface Samples {
  /** One value per period with data, new colour and old colour. */
  canary: number[];
  baseline: number[];
  /** The window's value of each colour (e.g. errors / requests over the whole window). */
  canaryValue?: number | undefined;
  baselineValue?: number | undefined;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface CheckResult {
  check: string;
  metric: string;
  unit: string;
  verdict: Verdict;
  /** What decided it, in words a person acts on. */
  reason: string;
  value: number | null;
  baseline: number | null;
  samples: { canary: number; baseline: number };
  threshold?: { max?: number; min?: number };
  comparison?: {
    statistic: 'mann-whitney-u';
    u: number;
    pValue: number;
    effect: number;
    tolerance: number;
    confidence: number;
  };
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export const labelOf = (check: AnalysisCheck): { metric: string; unit: string } =>
  typeof check.metric === 'string'
    ? { metric: BuiltInMetric[check.metric].label, unit: BuiltInMetric[check.metric].unit }
    : 'expression' in check.metric
      ? { metric: check.metric.label ?? check.metric.expression, unit: check.metric.unit ?? '' }
      : { metric: `${check.metric.namespace} ${check.metric.name} (${check.metric.stat})`, unit: '' };

/** `312 ms`, `4.1%`, `12.5 req/s`. */
export const formatValue = (value: number, unit: string): string =>
  unit === 'ratio'
    ? `${(value * 100).toFixed(2)}%`
    : unit === 'ms'
      ? `${Math.round(value)} ms`
      : unit
        ? `${Number(value.toFixed(2))} ${unit}`
        : `${Number(value.toPrecision(4))}`;

/**
 * `compare`: whether the old colour serves in this window (not at 100%, where it takes nothing):
 * without it a comparison is not made, and only the thresholds decide.
 */
export const judgeCheck = (
  check: AnalysisCheck,
  samples: Samples,
  options: { compare: boolean; baselineFrom?: string; whyNoComparison?: string },
): CheckResult => {
  const { metric, unit } = labelOf(check);
  const value = samples.canaryValue ?? median(samples.canary);
  const baseline = samples.baselineValue ?? median(samples.baseline);
  const base = {
    check: check.name,
    metric,
    unit,
    value: value ?? null,
    baseline: options.compare ? (baseline ?? null) : null,
    samples: { canary: samples.canary.length, baseline: samples.baseline.length },
    ...(check.max !== undefined || check.min !== undefined
      ? {
          threshold: {
            ...(check.max !== undefined ? { max: check.max } : {}),
            ...(check.min !== undefined ? { min: check.min } : {}),
          },
        }
      : {}),
  };
  const show = (v: number) => formatValue(v, unit);
  if (samples.canary.length < check.minSamples || value === undefined)
    return {
      ...base,
      verdict: 'inconclusive',
      reason: `${samples.canary.length} of ${check.minSamples} periods with data on the new colour (more traffic, a longer bake, a lower minSamples, or inconclusive: "warn")`,
    };
  if (check.max !== undefined && value > check.max)
    return {
      ...base,
      verdict: 'fail',
      reason: `${metric} ${show(value)} is above its max ${show(check.max)}`,
    };
  if (check.min !== undefined && value < check.min)
    return {
      ...base,
      verdict: 'fail',
      reason: `${metric} ${show(value)} is below its min ${show(check.min)}`,
    };
  if (!check.compare || !options.compare)
    return {
      ...base,
      verdict: 'pass',
      reason: `${metric} ${show(value)} within its threshold${check.compare ? ` (no comparison: ${options.whyNoComparison ?? 'the old colour serves nothing now'})` : ''}`,
    };
  if (samples.baseline.length < check.minSamples || baseline === undefined)
    return {
      ...base,
      verdict: 'inconclusive',
      reason: `${samples.baseline.length} of ${check.minSamples} periods with data on the old colour (more traffic, a longer bake, a lower minSamples, or inconclusive: "warn")`,
    };
  const { confidence, direction } = check.compare;
  const tolerance = toleranceOf(check);
  // Error rates compare in percentage points (a ratio of near-zero rates means nothing); the rest relatively.
  const absolute = check.metric === 'error-rate';
  // The test is against the old colour moved by the tolerance, so a difference the config accepts
  // is not a failure however sure the test is of it: H0 "no worse than the old colour + tolerance".
  const sign = direction === 'increase' ? 1 : -1;
  const shifted = samples.baseline.map((v) =>
    absolute ? v + sign * tolerance : v + sign * tolerance * Math.abs(v),
  );
  const test = mannWhitneyU(samples.canary, shifted, direction === 'increase' ? 'greater' : 'less');
  const effect = absolute
    ? value - baseline
    : baseline === 0
      ? value === 0
        ? 0
        : Math.sign(value) * Number.POSITIVE_INFINITY
      : (value - baseline) / Math.abs(baseline);
  const worse = direction === 'increase' ? effect > tolerance : effect < -tolerance;
  const significant = test.pValue < 1 - confidence;
  const comparison = {
    statistic: 'mann-whitney-u' as const,
    u: test.u,
    pValue: test.pValue,
    effect,
    tolerance,
    confidence,
  };
  const effectText = absolute
    ? `${effect >= 0 ? '+' : ''}${(effect * 100).toFixed(2)} points`
    : `${effect >= 0 ? '+' : ''}${Number.isFinite(effect) ? (effect * 100).toFixed(1) : '∞'}%`;
  const toleranceText = absolute
    ? `${(tolerance * 100).toFixed(2)} points`
    : `${(tolerance * 100).toFixed(0)}%`;
  const versus = `${metric} ${show(value)} on the new colour vs ${show(baseline)} on the old${options.baselineFrom ? ` during ${options.baselineFrom}` : ''} (${effectText}, tolerance ${toleranceText}; Mann-Whitney against the old colour ${sign > 0 ? '+' : '-'}${toleranceText}: p=${test.pValue < 0.001 ? test.pValue.toExponential(1) : test.pValue.toPrecision(2)}, needs < ${(1 - confidence).toFixed(3)})`;
  return {
    ...base,
    comparison,
    verdict: worse && significant ? 'fail' : 'pass',
    reason:
      worse && significant
        ? versus
        : `${versus}: not worse beyond tolerance with ${confidence * 100}% confidence`,
  };
};
