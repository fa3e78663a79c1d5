/**
 * Analysis config (bad input names the field and says what to do) and the judge on hand-made
 * samples: thresholds, the comparison's direction and tolerance, and too little data.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type AnalysisCheck, fewestToCompare, periodsIn } from '../../functions/shared/analysis/config.ts';
import { judgeCheck } from '../../functions/shared/analysis/judge.ts';
import {
  loadBalancerOf,
  readSamples,
  targetGroupDimension,
} from '../../functions/shared/analysis/metrics.ts';
import { parseTargets } from '../../functions/shared/config.ts';
import { Elbv2Model } from '../../local/account/elbv2.ts';
import { TrafficModel } from '../../local/account/traffic.ts';
import { Faults } from '../../local/faults.ts';
import { seededRandom } from '../../local/rng.ts';

const file = fileURLToPath(new URL('../fixtures/targets-analysis.json', import.meta.url));
const doc = () => JSON.parse(readFileSync(file, 'utf8'));
const withCheck = (check: Record<string, unknown>, edit?: (t: Record<string, unknown>) => void) => {
  const d = doc();
  d.targets[0].analysis.checks = [check];
  edit?.(d.targets[0]);
  return () => parseTargets(d);
};
const parsedCheck = (check: Record<string, unknown>): AnalysisCheck =>
  withCheck(check)().targets[0]?.analysis?.checks[0] as AnalysisCheck;

describe('analysis config', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'an unknown metric',
      { name: 'x', metric: 'latency-p90', max: 1 },
      /checks\[0\]\.metric: .*must be one of latency-p50, latency-p95, latency-p99, error-rate, request-rate/,
    ],
    [
      'an unknown statistic',
      { name: 'x', metric: { namespace: 'App', name: 'Q', stat: 'Median', dimensions: { Q: 'a' } }, max: 1 },
      /checks\[0\]\.metric\.stat: must be Average, Sum, Minimum, Maximum, SampleCount, IQM, a percentile such as p95/,
    ],
    [
      'an error rate above 1',
      { name: 'x', metric: 'error-rate', max: 5 },
      /checks\[0\]\.max: an error rate is a ratio from 0 to 1 \(0\.05 is 5%\), not 5/,
    ],
    [
      'a negative latency',
      { name: 'x', metric: 'latency-p95', max: -200 },
      /checks\[0\]\.max: a latency in ms must be above 0, not -200/,
    ],
    [
      'min above max',
      { name: 'x', metric: 'request-rate', min: 10, max: 5 },
      /checks\[0\]\.min: must be below max \(5\)/,
    ],
    [
      'a check that judges nothing',
      { name: 'x', metric: 'latency-p95' },
      /checks\[0\]\.max: a check needs max, min or compare/,
    ],
    [
      'a comparison of request rates (each follows its weight)',
      { name: 'x', metric: 'request-rate', compare: {} },
      /checks\[0\]\.compare: each colour's request rate follows its traffic weight/,
    ],
    [
      'direction decrease for latency',
      { name: 'x', metric: 'latency-p95', compare: { direction: 'decrease' } },
      /checks\[0\]\.compare: for latency-p95 more is worse: direction must be increase/,
    ],
    [
      'an error-rate tolerance above 1',
      { name: 'x', metric: 'error-rate', compare: { tolerance: 2 } },
      /checks\[0\]\.compare: an error-rate tolerance is in points of a ratio 0-1 \(0\.01 is one point\), not 2/,
    ],
    [
      'the same series for both colours',
      {
        name: 'x',
        metric: {
          namespace: 'A',
          name: 'B',
          stat: 'tm99',
          colourDimensions: { blue: { C: 'x' }, green: { C: 'x' } },
        },
        compare: {},
      },
      /checks\[0\]\.metric: colourDimensions\.blue and \.green are the same series/,
    ],
    [
      'a comparison without a baseline colour',
      {
        name: 'x',
        metric: { namespace: 'App', name: 'Q', stat: 'Average', dimensions: { Q: 'a' } },
        compare: {},
      },
      /checks\[0\]\.compare: a comparison needs a baseline colour: give metric\.colourDimensions/,
    ],
    [
      'an expression using an id it does not name',
      {
        name: 'x',
        metric: {
          expression: 'errors / requests',
          metrics: { errors: { alb: 'HTTPCode_Target_5XX_Count', stat: 'Sum' } },
        },
        max: 1,
      },
      /checks\[0\]\.metric: uses "requests", which metrics does not name \(ids: errors\)/,
    ],
    [
      'an expression that never uses a metric it names',
      {
        name: 'x',
        metric: {
          expression: '1000 * rt',
          metrics: {
            rt: { alb: 'TargetResponseTime', stat: 'p90' },
            spare: { alb: 'RequestCount', stat: 'Sum' },
          },
        },
        max: 1,
      },
      /checks\[0\]\.metric: metrics\.spare is never used by the expression/,
    ],
    [
      'an expression with a SEARCH (several series, none tied to a colour)',
      {
        name: 'x',
        metric: { expression: "SEARCH('{AWS/ApplicationELB} 5XX', 'Sum', 60)", metrics: {} },
        max: 1,
      },
      /checks\[0\]\.metric: an expression with a string \(SEARCH, INSIGHT_RULE_METRIC, a LAMBDA source\) reads series Switchyard cannot tie to a colour/,
    ],
    [
      "an expression over METRICS() (it would take the other checks' series)",
      { name: 'x', metric: { expression: 'SUM(METRICS())', metrics: {} }, max: 1 },
      /checks\[0\]\.metric: METRICS\(\) takes every series of the request/,
    ],
    [
      'an expression id CloudWatch would refuse',
      {
        name: 'x',
        metric: { expression: 'Errs', metrics: { Errs: { alb: 'RequestCount', stat: 'Sum' } } },
        max: 1,
      },
      /checks\[0\]\.metric\.metrics\.Errs: an id starts with a lowercase letter/,
    ],
    [
      'an expression sub-metric that is neither an ALB metric nor a CloudWatch metric',
      { name: 'x', metric: { expression: 'm', metrics: { m: { alb: 'Latency', stat: 'Sum' } } }, max: 1 },
      /checks\[0\]\.metric\.metrics\.m: must be \{ alb: <an ALB target-group metric>, stat \}/,
    ],
    [
      'an expression compared with the old colour but reading the same series for both',
      {
        name: 'x',
        metric: {
          expression: 'q * 2',
          metrics: { q: { namespace: 'App', name: 'Queue', stat: 'Average', dimensions: { Q: 'a' } } },
        },
        compare: {},
      },
      /checks\[0\]\.compare: a comparison needs a baseline colour: at least one of the expression's metrics must be an ALB metric/,
    ],
    [
      'an expression returning several series (found by review: they came back under one id, mixed)',
      {
        name: 'x',
        metric: {
          expression: 'ANOMALY_DETECTION_BAND(rt)',
          metrics: { rt: { alb: 'TargetResponseTime', stat: 'p95' } },
        },
        max: 1,
      },
      /checks\[0\]\.metric: ANOMALY_DETECTION_BAND returns several series, and a check judges one series per colour/,
    ],
    [
      'an expression making an array of series',
      {
        name: 'x',
        metric: { expression: '[rt, rt]', metrics: { rt: { alb: 'TargetResponseTime', stat: 'p95' } } },
        max: 1,
      },
      /checks\[0\]\.metric: an array \[ … \] is several series/,
    ],
    [
      'an expression naming more metrics than one GetMetricData can read for every check',
      {
        name: 'x',
        metric: {
          expression: Array.from({ length: 11 }, (_, i) => `m${i}`).join(' + '),
          metrics: Object.fromEntries(
            Array.from({ length: 11 }, (_, i) => [`m${i}`, { alb: 'RequestCount', stat: 'Sum' }]),
          ),
        },
        max: 1,
      },
      /checks\[0\]\.metric: names 11 metrics; at most 10/,
    ],
    [
      'an expression compared with the old colour whose only per-colour metric has the same dimensions for both',
      {
        name: 'x',
        metric: {
          expression: 'q',
          metrics: {
            q: {
              namespace: 'App',
              name: 'Queue',
              stat: 'Average',
              colourDimensions: { blue: { Q: 'a' }, green: { Q: 'a' } },
            },
          },
        },
        compare: {},
      },
      /checks\[0\]\.compare: a comparison needs a baseline colour: at least one of the expression's metrics/,
    ],
    [
      // 1 / C(6, 3) = 0.05: three periods each can never be 98% sure (found while adding test traffic).
      'a comparison on too few periods to ever reach its confidence',
      { name: 'x', metric: 'latency-p95', compare: {}, minSamples: 3 },
      /checks\[0\]\.minSamples: with 3 period\(s\) per colour a comparison can never reach 0\.98 confidence \(the smallest possible p-value is 0\.050\), so it could only pass: use minSamples 4 or more/,
    ],
    [
      'a test-traffic check without a threshold',
      { name: 'x', metric: 'latency-p95', compare: {}, when: ['test-traffic', 'bakes'] },
      /checks\[0\]\.when: test traffic is judged on thresholds only/,
    ],
    [
      'a comparison judged on test traffic only',
      { name: 'x', metric: 'latency-p95', max: 900, compare: {}, when: ['test-traffic'] },
      /checks\[0\]\.compare: a comparison needs real traffic on both colours: add "bakes" to when/,
    ],
  ])('refuses %s, naming the field', (_, check, message) => {
    expect(withCheck(check)).toThrow(message);
  });

  it('refuses test-traffic checks on a target without a test listener, saying what to do', () => {
    expect(
      withCheck({ name: 'x', metric: 'latency-p95', max: 900, when: ['test-traffic'] }, (t) => {
        delete (t.traffic as Record<string, unknown>).testListenerArn;
      }),
    ).toThrow(
      /checks\[0\]\.when: test-traffic judges the new colour through the test listener before any weight moves, and this target has no traffic\.testListenerArn: add one, or judge this check in bakes only/,
    );
    // A check judged only on test traffic needs no bake long enough for its minSamples.
    expect(
      withCheck({ name: 'x', metric: 'latency-p95', max: 900, when: ['test-traffic'], minSamples: 30 })()
        .targets[0]?.analysis?.checks[0]?.when,
    ).toEqual(['test-traffic']);
  });

  it('the fewest periods a comparison needs follows its confidence (smallest exact p-value 1 / C(2n, n))', () => {
    // C(6,3) = 20, C(8,4) = 70, C(12,6) = 924, C(14,7) = 3432.
    expect(fewestToCompare(0.9)).toBe(3);
    expect(fewestToCompare(0.98)).toBe(4);
    expect(fewestToCompare(0.99)).toBe(5);
    expect(fewestToCompare(0.999)).toBe(7);
  });

  it('refuses a period CloudWatch does not keep these metrics at', () => {
    const d = doc();
    d.targets[0].analysis.periodSeconds = 90;
    expect(() => parseTargets(d)).toThrow(
      /analysis\.periodSeconds: must be a multiple of 60 from 60 to 3600/,
    );
  });

  it('refuses a comparison under all-at-once, and a bake too short for minSamples, saying what to do', () => {
    expect(
      withCheck({ name: 'x', metric: 'latency-p95', compare: {} }, (t) => {
        (t.traffic as Record<string, unknown>).strategy = { type: 'all-at-once' };
      }),
    ).toThrow(
      /checks\[0\]\.compare: a comparison needs both colours serving at once: all-at-once never splits traffic/,
    );
    expect(withCheck({ name: 'x', metric: 'latency-p95', max: 500 }, (t) => (t.bakeMinutes = 5))).toThrow(
      /checks\[0\]\.minSamples: bakeMinutes 5 holds 3 period\(s\) of 60 s with data when the bake ends .* fewer than minSamples 5: the check could only be inconclusive\. Bake at least 7 min, or lower minSamples/,
    );
    expect(periodsIn(10, 60)).toBe(8);
  });

  it('fills the defaults it documents', () => {
    expect(parsedCheck({ name: 'x', metric: 'latency-p95', compare: {} })).toMatchObject({
      compare: { confidence: 0.98, direction: 'increase' },
      minSamples: 5,
      inconclusive: 'fail',
    });
  });

  it('reads the ALB dimensions from the ARNs', () => {
    expect(
      loadBalancerOf(
        'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/prod-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee',
      ),
    ).toBe('app/prod-alb/50dc6c495c0c9188');
    expect(
      targetGroupDimension(
        'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-blue/73e2d6bc24d8a067',
      ),
    ).toBe('targetgroup/shop-blue/73e2d6bc24d8a067');
  });
});

describe('the judge', () => {
  const latency = parsedCheck({ name: 'p95', metric: 'latency-p95', max: 2000, compare: {} });
  const errors = parsedCheck({ name: 'errors', metric: 'error-rate', compare: {} });
  const slow = [210, 220, 205, 230, 215, 225, 240, 212, 219, 228];
  const base = [180, 185, 190, 178, 182, 188, 186, 181, 179, 184];

  it('fails a new colour worse beyond tolerance with confidence: the test is against the old colour + tolerance', () => {
    const r = judgeCheck(latency, { canary: slow, baseline: base }, { compare: true });
    expect(r.verdict).toBe('fail');
    // Medians 219.5 and 183 (+19.9%). Against the old colour × 1.15: U = 80, p = 0.012874040410554032
    // (scipy.stats.mannwhitneyu(slow, [v * 1.15 for v in base], alternative='greater'), SciPy 1.17.1).
    expect(r.comparison).toMatchObject({ u: 80, tolerance: 0.15, confidence: 0.98 });
    expect(Math.abs((r.comparison?.pValue ?? 0) - 0.012874040410554032)).toBeLessThan(1e-6);
    expect(r.comparison?.effect).toBeCloseTo(219.5 / 183 - 1, 10);
    expect(r.reason).toBe(
      'p95 latency 220 ms on the new colour vs 183 ms on the old (+19.9%, tolerance 15%; Mann-Whitney against the old colour +15%: p=0.013, needs < 0.020)',
    );
  });

  it('passes a worse colour the test cannot place beyond the tolerance (+18%, p above 0.02)', () => {
    const r = judgeCheck(
      latency,
      { canary: base.map((v, i) => v * (i % 2 ? 1.12 : 1.24)), baseline: base },
      { compare: true },
    );
    expect(r.verdict).toBe('pass');
    expect(r.comparison?.pValue).toBeGreaterThan(0.02);
  });

  it('direction decrease: lower is worse (a custom throughput metric), with a negative effect', () => {
    const check = parsedCheck({
      name: 'orders',
      metric: {
        namespace: 'Shop',
        name: 'Orders',
        stat: 'Sum',
        colourDimensions: { blue: { C: 'blue' }, green: { C: 'green' } },
      },
      compare: { direction: 'decrease' },
    });
    const r = judgeCheck(check, { canary: base.map((v) => v * 0.6), baseline: base }, { compare: true });
    expect(r).toMatchObject({ verdict: 'fail' });
    expect(r.comparison?.effect).toBeCloseTo(-0.4, 10);
    expect(
      judgeCheck(check, { canary: base.map((v) => v * 1.5), baseline: base }, { compare: true }).verdict,
    ).toBe('pass');
  });

  it('a negative baseline: the effect keeps its sign', () => {
    const check = parsedCheck({
      name: 'margin',
      metric: {
        namespace: 'Shop',
        name: 'Margin',
        stat: 'Average',
        colourDimensions: { blue: { C: 'blue' }, green: { C: 'green' } },
      },
      compare: {},
    });
    const r = judgeCheck(
      check,
      { canary: [-2, -2, -2, -2, -2], baseline: [-10, -10, -10, -10, -10] },
      { compare: true },
    );
    expect(r.comparison?.effect).toBeCloseTo(0.8, 10);
  });

  it('passes a difference that is certain but within tolerance', () => {
    const near = base.map((v) => v * 1.1);
    expect(judgeCheck(latency, { canary: near, baseline: base }, { compare: true }).verdict).toBe('pass');
  });

  it('passes a difference beyond tolerance that noise could explain', () => {
    const r = judgeCheck(
      latency,
      { canary: [180, 400, 170, 190, 185], baseline: [182, 175, 420, 188, 179] },
      { compare: true },
    );
    expect(r.verdict).toBe('pass');
  });

  it('judges error rates in points, on the whole window', () => {
    const r = judgeCheck(
      errors,
      {
        canary: [0.02, 0.03, 0.025, 0.028, 0.031],
        baseline: [0, 0.001, 0, 0, 0.002],
        canaryValue: 0.027,
        baselineValue: 0.0006,
      },
      { compare: true },
    );
    expect(r).toMatchObject({ verdict: 'fail', value: 0.027, baseline: 0.0006 });
    expect(r.reason).toMatch(
      /^error rate 2\.70% on the new colour vs 0\.06% on the old \(\+2\.64 points, tolerance 0\.50 points/,
    );
  });

  it('a threshold decides before any comparison; too few periods is inconclusive', () => {
    expect(
      judgeCheck(latency, { canary: [2500, 2600, 2400, 2550, 2450], baseline: base }, { compare: true })
        .reason,
    ).toBe('p95 latency 2500 ms is above its max 2000 ms');
    expect(judgeCheck(latency, { canary: [200, 210], baseline: base }, { compare: true })).toMatchObject({
      verdict: 'inconclusive',
      reason:
        '2 of 5 periods with data on the new colour (more traffic, a longer bake, a lower minSamples, or inconclusive: "warn")',
    });
    expect(judgeCheck(latency, { canary: slow, baseline: [180] }, { compare: true })).toMatchObject({
      verdict: 'inconclusive',
      reason:
        '1 of 5 periods with data on the old colour (more traffic, a longer bake, a lower minSamples, or inconclusive: "warn")',
    });
  });

  it('at 100% the old colour serves nothing: thresholds only, said so', () => {
    const r = judgeCheck(latency, { canary: slow, baseline: [] }, { compare: false });
    expect(r).toMatchObject({ verdict: 'pass', baseline: null });
    expect(r.reason).toBe(
      'p95 latency 220 ms within its threshold (no comparison: the old colour serves nothing now)',
    );
  });
});

/** The samples of five minutes, green against blue, from a fake CloudWatch. */
const readFive = (cloudwatch: unknown, analysis: Parameters<typeof readSamples>[1]) => {
  const window = { start: new Date('2026-01-05T09:00:00Z'), end: new Date('2026-01-05T09:05:00Z') };
  return readSamples(
    cloudwatch as never,
    analysis,
    {
      loadBalancer: 'app/lb/1',
      targetGroups: { blue: 'arn:x:targetgroup/b/1', green: 'arn:x:targetgroup/g/2' },
    },
    { canary: 'green', baseline: 'blue' },
    { canary: window, baseline: window },
  );
};

describe('reading the samples', () => {
  it('scales latency to ms, computes the whole window error rate and request rate (an idle minute counts)', async () => {
    const analysis = withCheck({ name: 'x', metric: 'latency-p95', max: 500 })().targets[0]?.analysis;
    if (!analysis) throw new Error('no analysis');
    analysis.checks = [
      parsedCheck({ name: 'p95', metric: 'latency-p95', max: 500 }),
      parsedCheck({ name: 'errors', metric: 'error-rate', max: 0.05 }),
      parsedCheck({ name: 'rps', metric: 'request-rate', min: 1 }),
    ];
    // Five minutes; the new colour had requests in three of them (the others have no datapoint).
    const answers: Record<string, number[]> = {
      c0n: [0.2, 0.21, 0.19],
      c0o: [0.18, 0.18, 0.18, 0.18, 0.18],
      c1ne: [3],
      c1nr: [100, 100, 100],
      c1oe: [],
      c1or: [900, 900, 900, 900, 900],
      c2n: [100, 100, 100],
      c2o: [900, 900, 900, 900, 900],
    };
    const cloudwatch = {
      send: async (c: { input: { MetricDataQueries: { Id: string; ReturnData?: boolean }[] } }) => ({
        MetricDataResults: c.input.MetricDataQueries.filter((q) => q.ReturnData !== false).map((q) => ({
          Id: q.Id,
          Values: answers[q.Id] ?? [],
        })),
      }),
    };
    const [p95, errors, rps] = await readFive(cloudwatch, analysis);
    expect(p95?.canary.map((v) => Math.round(v))).toEqual([200, 210, 190]);
    // 3 errors of 300 requests: 1%, not a mean of per-minute rates.
    expect(errors?.canaryValue).toBeCloseTo(0.01, 10);
    expect(errors?.baselineValue).toBe(0);
    // 300 requests over 300 s: 1 per second (not 100 / 60 from the three minutes that had any).
    expect(rps?.canaryValue).toBeCloseTo(1, 10);
    expect(rps?.baselineValue).toBeCloseTo(15, 10);
  });
});

describe('reading an expression', () => {
  it("reads each named metric per colour under the check's own ids, and the expression rewritten to them", async () => {
    const analysis = withCheck({ name: 'x', metric: 'latency-p95', max: 500 })().targets[0]?.analysis;
    if (!analysis) throw new Error('no analysis');
    analysis.checks = [
      parsedCheck({
        name: 'share',
        metric: {
          expression: '100 * FILL(e5, 0) / requests + 0 * queue_depth',
          metrics: {
            e5: { alb: 'HTTPCode_Target_5XX_Count', stat: 'Sum' },
            requests: { alb: 'RequestCount', stat: 'Sum' },
            queue_depth: {
              namespace: 'App',
              name: 'QueueDepth',
              stat: 'Maximum',
              colourDimensions: { blue: { Colour: 'blue' }, green: { Colour: 'green' } },
            },
          },
          label: '5xx share',
          unit: '%',
        },
        max: 5,
        compare: { tolerance: 0.5 },
      }),
    ];
    const sent: { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: unknown }[] = [];
    const cloudwatch = {
      send: async (c: { input: { MetricDataQueries: typeof sent } }) => {
        sent.push(...c.input.MetricDataQueries);
        return {
          MetricDataResults: c.input.MetricDataQueries.filter((q) => q.ReturnData !== false).map((q) => ({
            Id: q.Id,
            Values: q.Id === 'c0n' ? [1, 2, 3, 2, 2] : [0.5, 0.5, 0.5, 0.5, 0.5],
          })),
        };
      },
    };
    const [share] = await readFive(cloudwatch, analysis);
    expect(sent.find((q) => q.Id === 'c0n')?.Expression).toBe(
      '100 * FILL(c0n_e5, 0) / c0n_requests + 0 * c0n_queue_depth',
    );
    expect(sent.find((q) => q.Id === 'c0o')?.Expression).toBe(
      '100 * FILL(c0o_e5, 0) / c0o_requests + 0 * c0o_queue_depth',
    );
    // Each colour's own target group and own dimensions; only the expressions come back.
    expect(sent.find((q) => q.Id === 'c0n_e5')).toMatchObject({
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/ApplicationELB',
          MetricName: 'HTTPCode_Target_5XX_Count',
          Dimensions: [
            { Name: 'TargetGroup', Value: 'targetgroup/g/2' },
            { Name: 'LoadBalancer', Value: 'app/lb/1' },
          ],
        },
        Stat: 'Sum',
      },
    });
    expect(sent.find((q) => q.Id === 'c0o_queue_depth')).toMatchObject({
      ReturnData: false,
      MetricStat: { Metric: { Dimensions: [{ Name: 'Colour', Value: 'blue' }] }, Stat: 'Maximum' },
    });
    expect(share).toMatchObject({ canary: [1, 2, 3, 2, 2], baseline: [0.5, 0.5, 0.5, 0.5, 0.5] });
    // Judged as any metric: the median period against its max, in the unit the config gave.
    expect(judgeCheck(analysis.checks[0] as AnalysisCheck, share as never, { compare: false })).toMatchObject(
      {
        metric: '5xx share',
        unit: '%',
        value: 2,
        verdict: 'pass',
        reason: '5xx share 2 % within its threshold (no comparison: the old colour serves nothing now)',
      },
    );
  });
});

describe('AnalyseBake', () => {
  it('reads alarms and target health itself only on a retry of an extension, for a target that may extend', async () => {
    const { run } = await import('../../functions/analyse-bake/run.ts');
    const { loadTargetsFile } = await import('../../functions/shared/config.ts');
    const shipped = loadTargetsFile(fileURLToPath(new URL('../../local/targets.json', import.meta.url)));
    const calls: string[] = [];
    const deps = {
      targets: shipped,
      store: { getRelease: async () => undefined, recordAnalysis: async () => {} },
      cloudwatch: {
        send: async (c: { constructor: { name: string } }) => {
          calls.push(c.constructor.name);
          return { MetricDataResults: [], MetricAlarms: [] };
        },
      },
      elbv2: {
        send: async (c: { constructor: { name: string } }) => {
          calls.push(c.constructor.name);
          return { TargetHealthDescriptions: [] };
        },
      },
    };
    // payments-api has analysis and alarms but no extend: its role may not read them (the stack).
    // 0.8 s after the state was entered: a cold start, as most first attempts in AWS are.
    await run(
      {
        releaseId: 'payments-api-0123456789ab',
        target: 'payments-api',
        toColour: 'green',
        enteredAt: '2026-01-05T10:00:00.000Z',
        traffic: { step: 0, percent: 10, bakeSeconds: 900 },
      },
      { ...deps, now: () => new Date('2026-01-05T10:00:00.800Z') } as never,
    ).catch(() => undefined);
    expect(calls.filter((c) => c !== 'GetMetricDataCommand')).toEqual([]);
  });
});

describe('the simulated ALB counts test traffic', () => {
  it("a probe through a test listener is a request of the target group it reached, in that minute's datapoint", () => {
    // Found by mutation: nothing failed when probes were not counted (ALB counts every listener's).
    const group = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-green/1';
    const listener =
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/prod-alb/50dc6c495c0c9188/0467ef3c8400ae65';
    const traffic = new TrafficModel(new Elbv2Model(), seededRandom(1), new Faults());
    for (let i = 0; i < 20; i++) traffic.probe(group, listener, i === 0);
    traffic.minute(Date.now() - 30_000);
    expect(traffic.datapoints.get(group)).toMatchObject([
      { requests: 20, errors: 1, loadBalancer: 'app/prod-alb/50dc6c495c0c9188' },
    ]);
    // Counted once: the next minute has none of them.
    traffic.minute(Date.now() + 30_000);
    expect(traffic.datapoints.get(group)).toHaveLength(1);
  });
});
