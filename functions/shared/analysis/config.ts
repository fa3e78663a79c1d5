/**
 * `analysis`: checks on CloudWatch metrics that judge the new colour on real traffic during every
 * bake, against absolute thresholds and against the old colour (Mann-Whitney U, as Kayenta judges).
 * The built-in metrics are the ALB's per-target-group metrics, so each colour has its own.
 */
import * as z from 'zod';

export const BuiltInMetric = {
  'latency-p50': { stat: 'p50', label: 'p50 latency', unit: 'ms' },
  'latency-p95': { stat: 'p95', label: 'p95 latency', unit: 'ms' },
  'latency-p99': { stat: 'p99', label: 'p99 latency', unit: 'ms' },
  'error-rate': { stat: 'Sum', label: 'error rate', unit: 'ratio' },
  'request-rate': { stat: 'Sum', label: 'request rate', unit: 'req/s' },
} as const;
export type BuiltInMetricName = keyof typeof BuiltInMetric;

/** The statistics GetMetricData takes (CloudWatch statistics reference): the basic five and percentiles. */
const isStat = (s: string) =>
  ['Average', 'Sum', 'Minimum', 'Maximum', 'SampleCount', 'IQM'].includes(s) ||
  /^(p|tm|wm|tc|ts)(\d{1,2}(\.\d{1,2})?|100)$/.test(s) ||
  /^(TM|WM|TC|TS|PR)\([\d.%:]+\)$/.test(s);

const dimensions = z.record(z.string().min(1).max(255), z.string().min(1).max(1024));

const statSchema = z
  .string()
  .refine(
    isStat,
    'must be Average, Sum, Minimum, Maximum, SampleCount, IQM, a percentile such as p95 or p99.9, or an extended statistic such as tm99 or TM(10%:90%)',
  );

const customMetric = z.strictObject({
  namespace: z.string().min(1).max(255),
  name: z.string().min(1).max(255),
  stat: statSchema,
  /** The same dimensions for both colours: a threshold on the whole service. */
  dimensions: dimensions.optional(),
  /** Each colour's own dimensions: what a comparison with the old colour needs. */
  colourDimensions: z.strictObject({ blue: dimensions, green: dimensions }).optional(),
});

/**
 * The ALB's per-target-group metrics (ALB CloudWatch metrics reference, "TargetGroup, LoadBalancer"
 * dimensions): an expression names one and Switchyard reads it for each colour's target group.
 */
const ALB_METRICS = [
  'RequestCount',
  'RequestCountPerTarget',
  'TargetResponseTime',
  'HTTPCode_Target_2XX_Count',
  'HTTPCode_Target_3XX_Count',
  'HTTPCode_Target_4XX_Count',
  'HTTPCode_Target_5XX_Count',
  'TargetConnectionErrorCount',
  'HealthyHostCount',
  'UnHealthyHostCount',
] as const;

/** An ALB metric of each colour's own target group, inside an expression. */
const albMetric = z.strictObject({ alb: z.enum(ALB_METRICS), stat: statSchema });

/** A Metric Math id (GetMetricData: starts with a lowercase letter; letters, digits, underscores). */
const MATH_ID = /^[a-z][a-zA-Z0-9_]{0,39}$/;

/**
 * A Metric Math expression over metrics it names (`metrics`: id → an ALB metric of each colour, or
 * any CloudWatch metric). Its value for a window is the median of its periods.
 */
const expressionMetric = z.strictObject({
  expression: z.string().min(1).max(2048),
  metrics: z.record(
    z.string().regex(MATH_ID, 'an id starts with a lowercase letter; letters, digits and "_", max 40'),
    z.union([albMetric, customMetric], {
      error: () =>
        'must be { alb: <an ALB target-group metric>, stat } or a CloudWatch metric { namespace, name, stat, dimensions | colourDimensions }',
    }),
  ),
  /** What people read (`5xx share`); the expression itself when absent. */
  label: z.string().min(1).max(80).optional(),
  /** Shown after each value (`%`, `ms`). */
  unit: z.string().max(16).optional(),
});
export type ExpressionMetric = z.infer<typeof expressionMetric>;

/** Where a check is judged: on the test listener before any weight moves, and/or during every bake. */
export const When = { TestTraffic: 'test-traffic', Bakes: 'bakes' } as const;

/**
 * The fewest periods per colour at which a one-sided Mann-Whitney test can reach `confidence` at
 * all: with n periods each, the smallest exact p-value is 1 / C(2n, n) (all of one colour above all
 * of the other). Below it a comparison could only ever pass.
 */
export const fewestToCompare = (confidence: number): number => {
  let n = 1;
  while (1 / binomial(2 * n, n) >= 1 - confidence) n++;
  return n;
};

/** C(n, k), the number of ways to choose k of n. */
const binomial = (n: number, k: number): number => {
  let out = 1;
  for (let i = 1; i <= k; i++) out = (out * (n - k + i)) / i;
  return out;
};

/**
 * Metric Math functions that return several series, or read series no id names (CloudWatch Metric
 * Math reference): a check judges one series per colour.
 */
const SEVERAL_SERIES = ['ANOMALY_DETECTION_BAND', 'SORT', 'SLICE', 'SEARCH', 'INSIGHT_RULE_METRIC', 'LAMBDA'];

/** At most this many metrics per expression: 20 checks x (10 + 1) x 2 colours stays within GetMetricData's 500 queries. */
const MAX_EXPRESSION_METRICS = 10;

/** Problems of an expression: ids it uses but does not name, names it never uses, several series. */
const expressionIssues = (m: ExpressionMetric): string[] => {
  if (/['"]/.test(m.expression))
    return [
      'an expression with a string (SEARCH, INSIGHT_RULE_METRIC, a LAMBDA source) reads series Switchyard cannot tie to a colour: name each metric in metrics and refer to it by its id',
    ];
  if (/\bMETRICS\s*\(/.test(m.expression))
    return [
      "METRICS() takes every series of the request, other checks' included: refer to each metric by its id",
    ];
  const several = SEVERAL_SERIES.filter((f) => new RegExp(`\\b${f}\\s*\\(`).test(m.expression));
  if (several.length > 0 || m.expression.includes('['))
    return [
      `${several.length ? `${several.join(', ')} returns` : 'an array [ … ] is'} several series, and a check judges one series per colour: write an expression that gives one`,
    ];
  if (Object.keys(m.metrics).length > MAX_EXPRESSION_METRICS)
    return [
      `names ${Object.keys(m.metrics).length} metrics; at most ${MAX_EXPRESSION_METRICS} (GetMetricData reads at most 500 series a call)`,
    ];
  const used = new Set(m.expression.match(/\b[a-z][A-Za-z0-9_]*\b/g) ?? []);
  const named = Object.keys(m.metrics);
  return [
    ...[...used]
      .filter((id) => !named.includes(id))
      .map((id) => `uses "${id}", which metrics does not name (ids: ${named.join(', ') || 'none'})`),
    ...named.filter((id) => !used.has(id)).map((id) => `metrics.${id} is never used by the expression`),
  ];
};

/** Whether a sub-metric of an expression is a different series for each colour. */
const perColour = (m: ExpressionMetric['metrics'][string]) =>
  'alb' in m ||
  (m.colourDimensions !== undefined &&
    JSON.stringify(Object.entries(m.colourDimensions.blue).sort()) !==
      JSON.stringify(Object.entries(m.colourDimensions.green).sort()));

const check = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be lowercase letters, digits and "-", max 40'),
    metric: z.union(
      [
        z.enum(Object.keys(BuiltInMetric) as [BuiltInMetricName, ...BuiltInMetricName[]]),
        customMetric,
        expressionMetric,
      ],
      {
        error: (issue) =>
          typeof issue.input === 'string' || issue.input === undefined
            ? `must be one of ${Object.keys(BuiltInMetric).join(', ')}, a CloudWatch metric { namespace, name, stat, dimensions | colourDimensions }, or a Metric Math { expression, metrics }`
            : undefined,
      },
    ),
    /** Fails above this (ms for latency, a ratio 0-1 for error-rate, requests/s for request-rate). */
    max: z.number().optional(),
    /** Fails below this. */
    min: z.number().optional(),
    /** Compared with the old colour over the same periods. */
    compare: z
      .strictObject({
        /**
         * How sure the test must be that the new colour is worse: 0.98, Kayenta's default. A bake's
         * per-minute samples (10 in a 10-minute canary) reach p < 0.001 for a real shift, so this costs no
         * detection, and it keeps noise from rolling back a healthy release.
         */
        confidence: z.number().min(0.8).max(0.999).default(0.98),
        /**
         * How much worse is tolerated even when certain: relative for latency and custom metrics
         * (default 0.15: a +30% p95 regression is caught with room for per-minute noise), absolute
         * for error-rate (default 0.005: half a percentage point). The test runs against the old colour
         * plus this margin, so it must stay below the regressions to catch: at 10% of 20 requests/s a
         * canary minute has about 120 requests, and with a one-point margin a +2-point regression was
         * caught within its canary in only 19 of 40 seeds (bench, 2026-12-02); half a point catches it.
         */
        tolerance: z.number().min(0).max(10).optional(),
        /** Which way is worse: `increase` (latency, errors; the default) or `decrease` (throughput). */
        direction: z.enum(['increase', 'decrease']).default('increase'),
      })
      .optional(),
    /**
     * Periods each colour needs before this check decides; fewer is inconclusive, never a pass. A
     * comparison needs enough for its confidence to be reachable (fewestToCompare: 4 at 0.98).
     */
    minSamples: z.number().int().min(1).max(60).default(5),
    /**
     * Where it is judged: `bakes` (real traffic, each bake; the default) and/or `test-traffic` (the
     * new colour's traffic through the test listener, the load-test hooks' included, after the
     * preTraffic hooks and before any weight moves; thresholds only: the old colour has no test traffic).
     */
    when: z
      .array(z.enum([When.TestTraffic, When.Bakes]))
      .min(1)
      .refine((w) => new Set(w).size === w.length, 'lists a place twice')
      .default([When.Bakes]),
    /**
     * Inconclusive at the bake's end: `fail` (roll back), `warn` (go on, recorded and shown), or
     * `extend` (judge again each minute for up to 10 more minutes, then fail).
     */
    inconclusive: z.enum(['fail', 'warn', 'extend']).default('fail'),
  })
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.max === undefined && c.min === undefined && !c.compare)
      issue('max', 'a check needs max, min or compare: otherwise it judges nothing');
    if (c.max !== undefined && c.min !== undefined && c.min >= c.max)
      issue('min', `must be below max (${c.max})`);
    if (typeof c.metric === 'string') {
      if (c.compare && c.metric === 'request-rate')
        issue(
          'compare',
          "each colour's request rate follows its traffic weight, so comparing them judges the weights, not the code: keep a min threshold",
        );
      if (
        c.compare?.direction === 'decrease' &&
        (c.metric.startsWith('latency') || c.metric === 'error-rate')
      )
        issue('compare', `for ${c.metric} more is worse: direction must be increase (the default)`);
      if (c.compare?.tolerance !== undefined && c.metric === 'error-rate' && c.compare.tolerance > 1)
        issue(
          'compare',
          `an error-rate tolerance is in points of a ratio 0-1 (0.01 is one point), not ${c.compare.tolerance}`,
        );
      for (const key of ['max', 'min'] as const) {
        const v = c[key];
        if (v === undefined) continue;
        if (c.metric === 'error-rate' && (v < 0 || v > 1))
          issue(key, `an error rate is a ratio from 0 to 1 (0.05 is 5%), not ${v}`);
        else if (c.metric.startsWith('latency') && v <= 0)
          issue(key, `a latency in ms must be above 0, not ${v}`);
        else if (c.metric === 'request-rate' && v < 0)
          issue(key, `a request rate must be 0 or more, not ${v}`);
      }
    } else if ('expression' in c.metric) {
      // An expression's own rules follow.
    } else if (
      c.metric.colourDimensions &&
      JSON.stringify(Object.entries(c.metric.colourDimensions.blue).sort()) ===
        JSON.stringify(Object.entries(c.metric.colourDimensions.green).sort())
    ) {
      issue(
        'metric',
        'colourDimensions.blue and .green are the same series: the metric would be compared with itself',
      );
    } else if (c.compare && !c.metric.colourDimensions) {
      issue(
        'compare',
        'a comparison needs a baseline colour: give metric.colourDimensions (each colour its own dimensions), or drop compare and keep a threshold',
      );
    }
    if (
      typeof c.metric !== 'string' &&
      !('expression' in c.metric) &&
      !c.metric.dimensions &&
      !c.metric.colourDimensions
    )
      issue(
        'metric',
        'a CloudWatch metric needs dimensions (or colourDimensions) to say which series to read',
      );
    if (c.compare) {
      const fewest = fewestToCompare(c.compare.confidence);
      if (c.minSamples < fewest)
        issue(
          'minSamples',
          `with ${c.minSamples} period(s) per colour a comparison can never reach ${c.compare.confidence} confidence (the smallest possible p-value is ${(1 / binomial(2 * c.minSamples, c.minSamples)).toPrecision(2)}), so it could only pass: use minSamples ${fewest} or more`,
        );
    }
    const onlyTest = !c.when.includes(When.Bakes);
    if (c.when.includes(When.TestTraffic) && c.max === undefined && c.min === undefined)
      issue(
        'when',
        'test traffic is judged on thresholds only (the old colour gets no test traffic to compare with): give this check a max or min, or judge it in bakes only',
      );
    if (onlyTest && c.compare)
      issue(
        'compare',
        'a comparison needs real traffic on both colours: add "bakes" to when, or drop compare',
      );
    if (typeof c.metric !== 'string' && 'expression' in c.metric) {
      for (const message of expressionIssues(c.metric)) issue('metric', message);
      for (const [id, m] of Object.entries(c.metric.metrics))
        if (!('alb' in m) && !m.dimensions && !m.colourDimensions)
          ctx.addIssue({
            code: 'custom',
            path: ['metric', 'metrics', id],
            message: 'a CloudWatch metric needs dimensions (or colourDimensions) to say which series to read',
          });
      if (c.compare && !Object.values(c.metric.metrics).some(perColour))
        issue(
          'compare',
          "a comparison needs a baseline colour: at least one of the expression's metrics must be an ALB metric ({ alb, stat }) or have colourDimensions, else both colours read the same series",
        );
    }
  });
export type AnalysisCheck = z.infer<typeof check>;

/** The checks judged at `when`. */
export const checksAt = (analysis: Analysis | undefined, when: (typeof When)[keyof typeof When]) =>
  (analysis?.checks ?? []).filter((c) => c.when.includes(when));

export const analysisSchema = z
  .strictObject({
    /** The samples' period: ALB metrics are standard resolution, so a multiple of 60 s (GetMetricData). */
    periodSeconds: z
      .number()
      .int()
      .refine(
        (p) => p % 60 === 0 && p >= 60 && p <= 3600,
        'must be a multiple of 60 from 60 to 3600: CloudWatch keeps these metrics at one-minute resolution',
      )
      .default(60),
    checks: z.array(check).min(1).max(20),
  })
  .optional();
export type Analysis = NonNullable<z.infer<typeof analysisSchema>>;

/** The tolerance a comparison uses when none is given (see `compare.tolerance`). */
export const toleranceOf = (c: AnalysisCheck): number =>
  c.compare?.tolerance ?? (c.metric === 'error-rate' ? 0.005 : 0.15);

/**
 * Periods of data a bake of `minutes` holds at its end: CloudWatch has an ALB minute a minute or two
 * after it ends, so the last two periods of a bake are not there yet when it is judged.
 */
export const periodsIn = (minutes: number, periodSeconds: number) =>
  Math.max(0, Math.floor((minutes * 60) / periodSeconds) - Math.ceil(120 / periodSeconds));

/**
 * What a target's analysis cannot do, said at config validation: a comparison needs both colours
 * serving, and every bake must hold a check's minSamples periods (else it could only ever be
 * inconclusive).
 */
export const analysisIssues = (target: {
  analysis?: Analysis | undefined;
  bakeMinutes: number;
  traffic: {
    strategy: { type: string; bakeMinutes?: number; stepBakeMinutes?: number };
    testListenerArn?: string | undefined;
  };
}): { path: (string | number)[]; message: string }[] => {
  const analysis = target.analysis;
  if (!analysis) return [];
  const untestable = target.traffic.testListenerArn
    ? []
    : analysis.checks.flatMap((c, i) =>
        c.when.includes(When.TestTraffic)
          ? [
              {
                path: ['analysis', 'checks', i, 'when'],
                message:
                  'test-traffic judges the new colour through the test listener before any weight moves, and this target has no traffic.testListenerArn: add one, or judge this check in bakes only (its thresholds are then first judged on real traffic in the first bake)',
              },
            ]
          : [],
      );
  const { strategy } = target.traffic;
  const bakes: [string, number][] = [
    ...(strategy.type === 'canary'
      ? [['traffic.strategy.bakeMinutes', strategy.bakeMinutes ?? 0] as [string, number]]
      : []),
    ...(strategy.type === 'linear'
      ? [['traffic.strategy.stepBakeMinutes', strategy.stepBakeMinutes ?? 0] as [string, number]]
      : []),
    ['bakeMinutes', target.bakeMinutes],
  ];
  const { periodSeconds } = analysis;
  const bakeIssues = (c: AnalysisCheck, i: number) => [
    ...(c.compare && strategy.type === 'all-at-once'
      ? [
          {
            path: ['analysis', 'checks', i, 'compare'],
            message:
              'a comparison needs both colours serving at once: all-at-once never splits traffic. Use a canary or linear strategy, or keep only thresholds',
          },
        ]
      : []),
    ...bakes.flatMap(([field, minutes]) => {
      const periods = periodsIn(minutes, periodSeconds);
      return periods < c.minSamples
        ? [
            {
              path: ['analysis', 'checks', i, 'minSamples'],
              message: `${field} ${minutes} holds ${periods} period(s) of ${periodSeconds} s with data when the bake ends (CloudWatch has a minute one or two minutes late), fewer than minSamples ${c.minSamples}: the check could only be inconclusive. Bake at least ${Math.ceil(((c.minSamples + Math.ceil(120 / periodSeconds)) * periodSeconds) / 60)} min, or lower minSamples`,
            },
          ]
        : [];
    }),
  ];
  return [
    ...untestable,
    ...analysis.checks.flatMap((c, i) => (c.when.includes(When.Bakes) ? bakeIssues(c, i) : [])),
  ];
};
